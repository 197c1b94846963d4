namespace BuddySlab.Tests.Objects;

/// <summary>The open-addressing page map against a dictionary.</summary>
public class PageMapTests
{
    [Fact]
    public void RandomOperationsMatchADictionary()
    {
        var random = new Random(5);
        var map = new PageMap(4096);
        var model = new Dictionary<nuint, nint>();
        for (int step = 0; step < 200_000; step++)
        {
            // Few distinct pages, so runs collide, wrap around and shrink on removal.
            nuint page = (nuint)(random.Next(1, 3000) * 4096);
            int action = random.Next(10);
            if (action < 5)
            {
                nint value = random.Next(1, int.MaxValue);
                map.Set(page, value);
                model[page] = value;
            }
            else if (action < 9)
            {
                Assert.Equal(model.Remove(page), map.Remove(page));
            }
            else
            {
                Assert.Equal(model.GetValueOrDefault(page), map.Get(page));
            }
            Assert.Equal(model.Count, map.Count);
            if (step % 10_000 == 0)
            {
                foreach (var (k, v) in model)
                    Assert.Equal(v, map.Get(k));
            }
        }
        foreach (var (k, v) in model)
            Assert.Equal(v, map.Get(k));
        map.Clear();
        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.Get(4096));
    }

    [Fact]
    public void ZeroIsNeitherAKeyNorAValue()
    {
        var map = new PageMap(4096);
        Assert.Equal(0, map.Get(0));
        Assert.False(map.Contains(0));
        Assert.False(map.Remove(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Set(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Set(4096, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PageMap(1000));
        map.Set(4096, 7);
        Assert.True(map.Contains(4096));
        Assert.Equal(0, map.Get(0));
    }
}
