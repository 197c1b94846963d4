using BuddySlab.Buddy;
using BuddySlab.Caches;

namespace BuddySlab;

// The page map: the state of every managed page, as runs, for pictures of the heap (the map command of the tool). It
// reads the buddy's records under the buddy lock, inside a read (EnterRead), so Dispose on another thread waits until
// it is done.
public sealed unsafe partial class GlobalAllocator
{
    /// <summary>What the pages of one run hold, as the page map tells them apart.</summary>
    internal enum PageState : byte
    {
        /// <summary>A free block of the buddy; the run's <see cref="PageMapRun.Detail"/> is its order.</summary>
        Free,
        /// <summary>A slab of the small-object layer, empty ones a CPU keeps included; the detail is its size class.</summary>
        Slab,
        /// <summary>A large block: whole pages behind an <c>Allocate</c> of more than a size class holds.</summary>
        LargeBlock,
        /// <summary>A run taken through the page API (<c>AllocatePages</c>).</summary>
        PageRun,
        /// <summary>A run a cache holds: on a thread's run stack or in a CPU's page-run cache (emptied slabs too).</summary>
        Cached,
        /// <summary>Pages the allocator keeps for its own structures.</summary>
        Metadata,
    }

    /// <summary>Consecutive pages of one section in one state: one buddy block or one live run.</summary>
    /// <param name="Section">The section's index, in the order regions were added.</param>
    /// <param name="FirstPage">The run's first page, counted from the section's first managed page.</param>
    /// <param name="Pages">The run's length in pages.</param>
    /// <param name="State">What the pages hold.</param>
    /// <param name="Detail">The order of a free block, the size class of a slab, 0 otherwise.</param>
    internal readonly record struct PageMapRun(int Section, uint FirstPage, uint Pages, PageState State, int Detail);

    /// <summary>
    /// Every managed page of every section, as runs in address order, read in one hold of the buddy lock.
    /// <para><b>Invariants.</b> The runs of section <c>i</c> tile its pages exactly: they start at page 0, each begins
    /// where the one before it ends, and their lengths add up to <c>Sections[i].TotalPageCount</c>. A free run is one
    /// buddy block of <c>2^Detail</c> pages, so per order the free runs are the section's free blocks by order
    /// (<see cref="SectionStatistics.FreeBlocksByOrder"/> of a snapshot taken with nothing in between).</para>
    /// <para>The states of live runs are read from their head records, which the layers above rewrite under their own
    /// locks or on a thread's own cache: while other threads run, a run moving into or out of a cache may show either
    /// way. With no other thread calling the heap, the map is exact.</para>
    /// </summary>
    internal sealed class PageMapSnapshot(int pageSize, ManagedSection[] sections, PageMapRun[] runs)
    {
        /// <summary>The page size in bytes.</summary>
        public int PageSize { get; } = pageSize;

        /// <summary>Every section's summary, in the order regions were added.</summary>
        public IReadOnlyList<ManagedSection> Sections { get; } = Array.AsReadOnly(sections);

        /// <summary>Every run of every section, section by section, each in address order.</summary>
        public IReadOnlyList<PageMapRun> Runs { get; } = Array.AsReadOnly(runs);

        /// <summary>Pages in <paramref name="state"/> (with <paramref name="detail"/>, when given) over every section.</summary>
        public nuint CountPages(PageState state, int? detail = null)
        {
            nuint pages = 0;
            foreach (PageMapRun run in runs)
                if (run.State == state && (detail is null || run.Detail == detail)) pages += run.Pages;
            return pages;
        }
    }

    /// <summary>The state of every managed page (see <see cref="PageMapSnapshot"/>): O(free blocks and live runs) under
    /// the buddy lock, and it allocates. For diagnostics and pictures, not for a tight loop.</summary>
    internal PageMapSnapshot ReadPageMap()
    {
        EnterRead();
        try
        {
            var sections = new List<ManagedSection>();
            var blocks = new List<(int Section, uint FirstPage, uint Pages, PageRecord Head)>();
            _pages.ReadBlocks(sections, blocks);
            var runs = new PageMapRun[blocks.Count];
            for (int i = 0; i < runs.Length; i++)
            {
                var (section, first, pages, head) = blocks[i];
                (PageState state, int detail) = head.IsFreeHead ? (PageState.Free, head.Order) : StateOf(head);
                runs[i] = new PageMapRun(section, first, pages, state, detail);
            }
            return new PageMapSnapshot(_pageSize, [.. sections], runs);
        }
        finally { ExitRead(); }
    }

    /// <summary>The state of a live run from its head record's flags.</summary>
    private static (PageState State, int Detail) StateOf(PageRecord head) => head.Flags switch
    {
        PageFlags.Slab => (PageState.Slab, head.SlabClass),
        RunStates.PageRun => (PageState.PageRun, 0),
        RunStates.Cached => (PageState.Cached, 0),
        RunStates.Metadata => (PageState.Metadata, 0),
        _ => (PageState.LargeBlock, 0),
    };
}
