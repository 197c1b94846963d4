using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BuddySlab.Cli.Bench.Contracts;

namespace BuddySlab.Cli.Bench.Contenders;

/// <summary>The default reference: <see cref="NativeMemory.Alloc(nuint)"/> and <see cref="NativeMemory.Free"/>
/// (the C runtime's malloc, glibc here), as a .NET program calls them.</summary>
public readonly unsafe struct NativeMemoryAllocator : IBenchAllocator<nint>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Allocate(nuint size) => (nint)NativeMemory.Alloc(size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(nint handle, nuint size) => NativeMemory.Free((void*)handle);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Data(nint handle) => ref *(byte*)handle;

    public void Dispose() { }
}
