namespace BuddySlab.Diagnostics;

/// <summary>Why a free found under a lock was refused; the caller leaves its lock, then throws
/// (<see cref="ThrowHelper.FreeError(FreeError, nuint)"/>).</summary>
internal enum FreeError
{
    None,
    /// <summary>The address does not start an object of its slab (interior or misaligned pointer).</summary>
    NotAnObject,
    /// <summary>The object is already free, or waiting on its slab's remote list.</summary>
    DoubleFree,
}
