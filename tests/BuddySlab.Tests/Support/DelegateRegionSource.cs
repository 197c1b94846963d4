namespace BuddySlab.Tests.Support;

/// <summary>An <see cref="IRegionSource"/> for an allocator over a test's own region: it never grows, and records (or
/// scribbles over) what the allocator gives back instead of calling the OS.</summary>
internal sealed unsafe class DelegateRegionSource : IRegionSource
{
    public Action<nuint, nuint>? Discard { get; init; }
    public Action<nuint, nuint>? Release { get; init; }

    public nuint MaxRequestBytes => nuint.MaxValue;

    public bool MapsZeroedRegions => false;

    public nuint InPlaceGrowth(nuint block, nuint reservedLeft) => 0;

    public void Committed(nuint bytes) { }

    public bool TryMapRegion(nuint needed, out void* region, out nuint bytes)
    {
        region = null;
        bytes = 0;
        return false;
    }

    void IRegionSource.Discard(nuint address, nuint bytes) => Discard?.Invoke(address, bytes);

    public void ReleaseRegion(nuint start, nuint bytes) => Release?.Invoke(start, bytes);
}
