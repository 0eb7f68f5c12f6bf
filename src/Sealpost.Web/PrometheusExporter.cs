using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Sealpost.Web;

/// <summary>
/// The Prometheus text exposition format (0.0.4) over the server's meter, written here because it is
/// small: counters are summed per tag set (<c>_total</c>), up-down counters and observable gauges are
/// gauges, histograms have fixed buckets with <c>_bucket</c>, <c>_sum</c> and <c>_count</c>. Names get
/// '.' turned into '_'; tag values are escaped.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), Series> _series = new();

    private sealed class Series
    {
        public double Value;
        public long Count;
        public readonly long[] BucketCounts = new long[Buckets.Length];
        public readonly Lock Gate = new();
    }

    public PrometheusExporter(string meterName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.GetOrAdd((instrument, Labels(tags)), _ => new Series());
        lock (series.Gate)
        {
            switch (instrument)
            {
                case Histogram<double> or Histogram<long>:
                    series.Value += value;
                    series.Count++;
                    for (var b = 0; b < Buckets.Length; b++)
                    {
                        if (value <= Buckets[b])
                        {
                            series.BucketCounts[b]++;
                        }
                    }

                    break;
                case { IsObservable: true }:
                    series.Value = value; // observed now: a level, not an increment
                    break;
                default:
                    series.Value += value; // counters and up-down counters
                    break;
            }
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var parts = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            var value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "";
            parts.Add($"{Name(tag.Key)}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join(",", parts);
    }

    private static string Name(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());

    private static string Number(double v) => double.IsPositiveInfinity(v) ? "+Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The current values as the text format; observable instruments are read now.</summary>
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        // By name: two instruments of one name (another meter of the same name in this process) are one family.
        foreach (var group in _series.GroupBy(s => s.Key.Instrument.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var instrument = group.First().Key.Instrument;
            var name = Name(instrument.Name);
            var (type, suffix) = instrument switch
            {
                Counter<long> or Counter<double> or Counter<int> => ("counter", "_total"),
                Histogram<double> or Histogram<long> => ("histogram", ""),
                _ => ("gauge", ""),
            };
            if (instrument.Unit == "s" && !name.EndsWith("_seconds", StringComparison.Ordinal))
            {
                name += "_seconds";
            }

            text.Append("# HELP ").Append(name).Append(suffix).Append(' ').Append(instrument.Description ?? name).Append('\n');
            text.Append("# TYPE ").Append(name).Append(suffix).Append(' ').Append(type).Append('\n');
            foreach (var (key, series) in group.GroupBy(s => s.Key.Labels).Select(g => g.First()).OrderBy(s => s.Key.Labels, StringComparer.Ordinal))
            {
                lock (series.Gate)
                {
                    if (type == "histogram")
                    {
                        for (var b = 0; b < Buckets.Length; b++)
                        {
                            text.Append(name).Append("_bucket{").Append(key.Labels).Append(key.Labels.Length > 0 ? "," : "").Append("le=\"").Append(Number(Buckets[b])).Append("\"} ").Append(series.BucketCounts[b]).Append('\n');
                        }

                        text.Append(name).Append("_bucket{").Append(key.Labels).Append(key.Labels.Length > 0 ? "," : "").Append("le=\"+Inf\"} ").Append(series.Count).Append('\n');
                        text.Append(name).Append("_sum").Append(Braces(key.Labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                        text.Append(name).Append("_count").Append(Braces(key.Labels)).Append(' ').Append(series.Count).Append('\n');
                    }
                    else
                    {
                        text.Append(name).Append(suffix).Append(Braces(key.Labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                    }
                }
            }
        }

        return text.ToString();
    }

    private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

    public void Dispose() => _listener.Dispose();
}
