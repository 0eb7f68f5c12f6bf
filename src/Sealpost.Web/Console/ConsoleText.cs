using System.Collections.Concurrent;
using System.Globalization;
using System.Resources;

namespace Sealpost.Web.Console;

/// <summary>
/// The console's words, from Resources/Strings.resx (English) and Strings.zh-Hant.resx. A key missing in
/// the page's language shows as <c>⟦key⟧</c>, never as the English text, so a test can find it.
/// </summary>
public sealed class ConsoleText
{
    private static readonly ResourceManager Resources = new("Sealpost.Web.Console.Resources.Strings", typeof(ConsoleText).Assembly);
    private readonly ConcurrentDictionary<(string, string), string> _cache = new();

    public string this[string key] => Get(key, CultureInfo.CurrentUICulture);

    public string Format(string key, params object[] args) => string.Format(CultureInfo.CurrentCulture, this[key], args);

    private string Get(string key, CultureInfo culture) => _cache.GetOrAdd((culture.Name, key), k =>
    {
        var set = Resources.GetResourceSet(culture, createIfNotExists: true, tryParents: false);
        if (culture.Name.Length == 0 || culture.TwoLetterISOLanguageName == "en")
        {
            set = Resources.GetResourceSet(CultureInfo.InvariantCulture, true, false);
        }

        return set?.GetString(k.Item2) ?? $"⟦{k.Item2}⟧";
    });
}
