namespace BuddySlab;

/// <summary>
/// Thrown by every BuddySlab allocator when a call cannot be honoured. The allocator is left exactly as
/// it was before the call; <see cref="Error"/> says what kind of problem it was and the message names
/// the offending address or size. <see cref="BuddyHeapException"/> derives from it, adding the buddy heap's own error kinds.
/// </summary>
public class AllocatorException : Exception
{
    /// <summary>Creates an exception for <paramref name="error"/> with a message naming the problem.</summary>
    public AllocatorException(AllocError error, string message) : base(message) => Error = error;

    /// <summary>The kind of problem.</summary>
    public AllocError Error { get; }
}
