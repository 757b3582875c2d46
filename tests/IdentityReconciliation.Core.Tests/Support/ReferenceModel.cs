namespace IdentityReconciliation.Tests.Support;

/// <summary>
/// A deliberately simple, independent model of the product: rows of (id, email, phone), and persons as the connected
/// components of every identifier pair ever requested (union-find). The primary of a person is its lowest id (the tests
/// use a clock that always moves forward, so the lowest id is the oldest). It knows nothing of links, precedence or the planner.
/// Requests must already be normalised.
/// </summary>
public sealed class ReferenceModel
{
    private readonly List<(long Id, string? Email, string? Phone)> _rows = [];
    private readonly Dictionary<string, string> _parent = [];

    public int RowCount => _rows.Count;

    public ContactCluster Identify(string? email, string? phone)
    {
        var matchedBefore = _rows.Any(r => (email != null && r.Email == email) || (phone != null && r.Phone == phone));
        if (email != null && phone != null)
        {
            Union(Key("e", email), Key("p", phone));
        }

        var component = Find(email != null ? Key("e", email) : Key("p", phone!));
        var members = Members(component);
        var bringsNew = (email != null && !members.Any(r => r.Email == email)) || (phone != null && !members.Any(r => r.Phone == phone));
        if (!matchedBefore || bringsNew)
        {
            _rows.Add((_rows.Count + 1, email, phone));
            members = Members(component);
        }

        var primary = members.MinBy(r => r.Id);
        var ordered = members.OrderBy(r => r.Id).ToList();
        var emails = new[] { primary.Email }.Concat(ordered.Select(r => r.Email)).Where(e => e != null).Select(e => e!).Distinct().ToList();
        var phones = new[] { primary.Phone }.Concat(ordered.Select(r => r.Phone)).Where(p => p != null).Select(p => p!).Distinct().ToList();
        return new ContactCluster(primary.Id, emails, phones, ordered.Where(r => r.Id != primary.Id).Select(r => r.Id).ToList());
    }

    private List<(long Id, string? Email, string? Phone)> Members(string component) =>
        _rows.Where(r => Find(r.Email != null ? Key("e", r.Email) : Key("p", r.Phone!)) == component).ToList();

    private static string Key(string kind, string value) => kind + ":" + value;

    private string Find(string key)
    {
        if (!_parent.TryGetValue(key, out var parent))
        {
            _parent[key] = key;
            return key;
        }

        if (parent == key)
        {
            return key;
        }

        var root = Find(parent);
        _parent[key] = root;
        return root;
    }

    private void Union(string a, string b)
    {
        var ra = Find(a);
        var rb = Find(b);
        if (ra != rb)
        {
            _parent[ra] = rb;
        }
    }
}
