using System.Runtime.InteropServices;

namespace BuddySlab.Buffers;

/// <summary>
/// The native block of a <see cref="NativeBuffer{T}"/>, as a <see cref="SafeHandle"/>: the runtime's reference count
/// keeps it alive while it is pinned, Dispose frees it once the last pin is gone, and its critical finalizer frees a
/// block whose buffer became unreachable without being disposed.
/// </summary>
/// <remarks>
/// The handle remembers the size and alignment the block was allocated with, for the allocator's sized free.
/// A free the allocator refuses is ignored: the only way that happens to a block this handle still holds is an
/// allocator disposed before the buffer (its memory went with it), and a finalizer must not throw.
/// </remarks>
internal sealed unsafe class NativeBlockHandle : SafeHandle
{
    private readonly INativeAllocator _allocator;
    private nuint _bytes;
    private nuint _alignment;

    public NativeBlockHandle(INativeAllocator allocator) : base(IntPtr.Zero, ownsHandle: true) => _allocator = allocator;

    public override bool IsInvalid => handle == IntPtr.Zero;

    public void* Block => (void*)handle;

    public nuint Bytes => _bytes;

    public nuint Alignment => _alignment;

    /// <summary>Takes ownership of <paramref name="block"/> (allocated with this size and alignment) in place of any block
    /// before it; the caller moved or freed the old one.</summary>
    public void Attach(void* block, nuint bytes, nuint alignment)
    {
        SetHandle((IntPtr)block);
        _bytes = bytes;
        _alignment = alignment;
    }

    protected override bool ReleaseHandle()
    {
        try
        {
            _allocator.Free((void*)handle, _bytes, _alignment);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (AllocatorException)
        {
        }
        return true;
    }
}
