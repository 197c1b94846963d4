namespace BuddySlab;

/// <summary>What the metrics read of a memory pool: its name and what it has out. Reads take no lock.</summary>
internal interface IMeteredPool
{
    /// <summary>The pool's name, the <c>pool</c> tag of its measurements.</summary>
    string Name { get; }

    /// <summary>Blocks rented and not yet returned.</summary>
    int RentedCount { get; }

    /// <summary>Bytes of those blocks.</summary>
    long RentedBytes { get; }
}
