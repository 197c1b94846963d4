using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BuddySlab.Malloc;

/// <summary>
/// Which addresses belong to the heap: the stand-in for an ownership test the library does not offer yet.
/// <para>The ranges live in a table the C shim owns (<see cref="Table"/>), so that it can tell the heap's pointers from
/// glibc's where it cannot call in (inside the heap, on an exiting thread). The heap's first section is its whole
/// reservation, counted as far as it can reach: pages it has not grown into yet are the heap's too, and no other
/// allocator can have a block there. Other sections are recorded as <see cref="GlobalAllocator.GetSection"/> reports
/// them, and re-read whenever <see cref="GlobalAllocator.SectionCount"/> changes.</para>
/// <para>A range is a superset where the operating system gave a smaller reservation than asked for: an address there
/// that no section holds is answered <see cref="AllocError.NotFound"/> by the heap, which the callers treat as
/// "not the heap's".</para>
/// </summary>
internal static unsafe class HeapRanges
{
    /// <summary>The layout of the shim's table: <c>Count</c> ranges as <c>[start, end)</c> pairs.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Table
    {
        public const int Capacity = 64;
        public nint Count;
        public fixed ulong Bounds[2 * Capacity];
    }

    private static Table* s_table;
    private static nuint s_firstStart, s_firstLength;   // the reservation, tested first
    private static nuint s_reservationEnd;
    private static int s_knownSections;
    private static readonly Lock s_refreshLock = new();

    /// <summary>Records the reservation <c>[start, end)</c> and fills the table.</summary>
    public static void Start(Table* table, nuint start, nuint end)
    {
        s_table = table;
        s_firstStart = start;
        s_firstLength = end - start;
        s_reservationEnd = end;
        Refresh();
    }

    /// <summary>True when <paramref name="pointer"/> lies in one of the heap's ranges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Contains(void* pointer) => (nuint)pointer - s_firstStart < s_firstLength || ContainsElsewhere((nuint)pointer);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool ContainsElsewhere(nuint address)
    {
        if (ProcessHeap.Allocator.SectionCount != Volatile.Read(ref s_knownSections)) Refresh();
        Table* table = s_table;
        for (nint i = 0; i < table->Count; i++)
            if (address - (nuint)table->Bounds[2 * i] < (nuint)(table->Bounds[2 * i + 1] - table->Bounds[2 * i])) return true;
        return false;
    }

    /// <summary>Re-reads the sections into the table. Entries are only ever widened or appended while the shim may be
    /// reading them, except that a released region's range may linger until the next refresh (the heap then answers
    /// <see cref="AllocError.NotFound"/> for it).</summary>
    private static void Refresh()
    {
        lock (s_refreshLock)
        {
            GlobalAllocator allocator = ProcessHeap.Allocator;
            int count = allocator.SectionCount;
            Table* table = s_table;
            nint n = 0;
            table->Bounds[0] = s_firstStart;
            table->Bounds[1] = s_reservationEnd;
            n = 1;
            for (int i = 0; i < count && n < Table.Capacity; i++)
            {
                ManagedSection section = allocator.GetSection(i);
                if (section.Start == s_firstStart) continue;
                table->Bounds[2 * n] = section.Start;
                table->Bounds[2 * n + 1] = section.Start + section.Size;
                n++;
            }
            Volatile.Write(ref table->Count, n);
            Volatile.Write(ref s_knownSections, count);
        }
    }
}
