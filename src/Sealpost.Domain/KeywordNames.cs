using Sealpost.Core.Mail;
using Sealpost.Core.Security;

namespace Sealpost.Domain;

/// <summary>
/// An account's keywords (one per session of any protocol) ($Forwarded, $Junk, user labels) by id and by name, unsealed once per
/// session. Keyword names are sealed like folder names; their lookup key is case-folded because
/// IMAP flags compare case-insensitively (RFC 9051 §2.3.2).
/// </summary>
public sealed class KeywordNames(MailAccess store, IAccountSession keys)
{
    private Dictionary<int, string> _byId = [];
    private Dictionary<string, int> _byName = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<string> All => _byId.Values.Order(StringComparer.Ordinal);

    /// <summary>How many keywords the account has (they are only ever added): a cheap test for "a new one appeared".</summary>
    public int Count => _byId.Count;

    public async Task LoadAsync(CancellationToken ct)
    {
        var byId = new Dictionary<int, string>();
        var byName = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var keyword in await store.ListKeywordsAsync(ct))
        {
            var name = keys.Names.Unseal(keys.AccountId, keyword.SealedName);
            if (name is not null)
            {
                byId[keyword.Id] = name;
                byName.TryAdd(name, keyword.Id);
            }
        }

        _byId = byId;
        _byName = byName;
    }

    /// <summary>Names of these ids; reloads once if another session made a keyword this one has not seen.</summary>
    public async ValueTask<IReadOnlyList<string>> NamesAsync(IReadOnlyList<int> ids, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        if (ids.Any(id => !_byId.ContainsKey(id)))
        {
            await LoadAsync(ct);
        }

        return ids.Select(id => _byId.GetValueOrDefault(id)).OfType<string>().ToList();
    }

    public string? Name(int id) => _byId.GetValueOrDefault(id);

    public bool Has(IReadOnlyList<int> ids) => ids.All(_byId.ContainsKey);

    public int? Find(string name) => _byName.TryGetValue(name, out var id) ? id : null;

    /// <summary>Ids of these names, creating keywords that do not exist yet.</summary>
    public async Task<List<int>> IdsAsync(IEnumerable<string> names, CancellationToken ct)
    {
        var ids = new List<int>();
        foreach (var name in names)
        {
            if (!_byName.TryGetValue(name, out var id))
            {
                var keyword = await store.GetOrCreateKeywordAsync(LookupKey(name), keys.Names.Seal(keys.AccountId, name), ct);
                id = keyword.Id;
                _byId[id] = keys.Names.Unseal(keys.AccountId, keyword.SealedName) ?? name;
                _byName.TryAdd(_byId[id], id);
            }

            ids.Add(id);
        }

        return ids;
    }

    private byte[] LookupKey(string name) => keys.Names.LookupKey(keys.AccountId, "\u0001keyword:" + name.ToUpperInvariant());
}
