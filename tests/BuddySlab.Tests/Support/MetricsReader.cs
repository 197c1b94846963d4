using System.Diagnostics.Metrics;

namespace BuddySlab.Tests.Support;

/// <summary>
/// Reads the <c>BuddySlab</c> meter the way a collector does: a <see cref="MeterListener"/> that enables every instrument
/// of the meter and, on each <see cref="Read"/>, records the observable instruments once and keeps the measurements of
/// one heap or pool (by its tag).
/// </summary>
internal sealed class MetricsReader : IDisposable
{
    public const string MeterName = "BuddySlab";

    private readonly MeterListener _listener = new();
    private readonly object _collecting = new();       // one collection at a time (Monitor: the callback runs inside it)
    private readonly List<(string Instrument, long Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];
    private readonly List<Instrument> _instruments = [];

    public MetricsReader()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != MeterName) return;
            lock (_instruments) _instruments.Add(instrument);
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (_measurements) _measurements.Add((instrument.Name, value, tags.ToArray()));
        });
        _listener.Start();
    }

    /// <summary>The meter's instruments this listener was told of.</summary>
    public List<Instrument> Instruments
    {
        get { lock (_instruments) return [.. _instruments]; }
    }

    /// <summary>One collection: every instrument's value for the heap or pool whose <paramref name="tag"/> is
    /// <paramref name="name"/>. A name reported twice by one instrument fails the test.</summary>
    public Dictionary<string, long> Read(string tag, string name)
    {
        lock (_collecting)
        {
            lock (_measurements) _measurements.Clear();
            _listener.RecordObservableInstruments();
            var values = new Dictionary<string, long>();
            lock (_measurements)
                foreach (var (instrument, value, tags) in _measurements)
                    if (tags.Length == 1 && tags[0].Key == tag && Equals(tags[0].Value, name))
                        Assert.True(values.TryAdd(instrument, value), $"{instrument} reported {tag} {name} twice");
            return values;
        }
    }

    public void Dispose() => _listener.Dispose();
}
