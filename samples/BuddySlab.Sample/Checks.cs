namespace BuddySlab.Sample;

/// <summary>
/// Prints one line per checked result, "ok" or "FAIL" with the value seen and the value expected, and counts
/// both; the program's exit code comes from <see cref="Failures"/>.
/// </summary>
internal sealed class Checks
{
    public int Passed { get; private set; }
    public int Failures { get; private set; }

    public void Equal<T>(string what, T expected, T actual)
    {
        if (EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Passed++;
            Console.WriteLine($"  ok    {what}: {actual}");
        }
        else
        {
            Failures++;
            Console.WriteLine($"  FAIL  {what}: {actual}, expected {expected}");
        }
    }

    public void True(string what, bool condition) => Equal(what, true, condition);

    /// <summary>Checks that <paramref name="misuse"/> is refused with <paramref name="expected"/>.</summary>
    public void Refused(string what, AllocError expected, Action misuse)
    {
        try
        {
            misuse();
            Failures++;
            Console.WriteLine($"  FAIL  {what}: accepted, expected {expected}");
        }
        catch (AllocatorException e)
        {
            Equal(what, expected, e.Error);
        }
    }
}
