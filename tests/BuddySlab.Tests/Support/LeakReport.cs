namespace BuddySlab.Tests.Support;

/// <summary>Describes every live run of an allocator's buddy: for finding what a leak holds.</summary>
internal static unsafe class LeakReport
{
    public static string Describe(GlobalAllocator a)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < a.Buddy.SectionCount; i++)
        {
            BuddySection* s = a.Buddy.SectionPointer(i);
            for (uint p = 0; p < s->Frontier; p++)
            {
                ref PageRecord r = ref s->Records[p];
                if (!r.IsRunHead) continue;
                nuint address = s->FirstPage + ((nuint)p << s->PageShift);
                text.Append($"run 0x{address:x} pages {r.RunLength} flags {r.Flags}");
                if (r.Flags == PageFlags.Slab)
                {
                    var h = (SlabHeader*)address;
                    text.Append($" slab class {h->ClassIndex} owner {h->OwnerCpu} free {h->FreeCount}/{h->ObjectCount} list {h->List} remote {h->RemoteCount} head 0x{h->RemoteHead:x}");
                }
                text.AppendLine();
            }
        }
        return text.ToString();
    }
}
