namespace BuddySlab.Buddy;

/// <summary>
/// Page runs on their way back to the buddy, collected under some other lock and freed later under one hold of the
/// buddy lock (<see cref="PageBackend.Free(RunChain)"/>). The chain is threaded through the runs themselves: a run's
/// first word links the next run and its second word holds its page count. The runs are free memory by then, so
/// nothing else reads them.
/// </summary>
internal unsafe struct RunChain
{
    /// <summary>The newest run added, or 0 for an empty chain.</summary>
    public nuint Head;

    public readonly bool IsEmpty => Head == 0;

    /// <summary>Adds a run of <paramref name="pages"/> pages.</summary>
    public void Add(nuint run, nuint pages)
    {
        ((nuint*)run)[0] = Head;
        ((nuint*)run)[1] = pages;
        Head = run;
    }

    /// <summary>Takes the newest run off the chain; false when it is empty.</summary>
    public bool TryTake(out nuint run, out nuint pages)
    {
        run = Head;
        if (run == 0)
        {
            pages = 0;
            return false;
        }
        pages = ((nuint*)run)[1];
        Head = ((nuint*)run)[0];
        return true;
    }
}
