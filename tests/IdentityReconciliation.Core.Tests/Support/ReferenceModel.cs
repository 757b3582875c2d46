namespace IdentityReconciliation.Tests.Support;

/// <summary>
/// A deliberately simple, independent model of the product: rows of (id, email, phone), and persons as the connected
/// components of every identifier pair ever applied (union-find). The primary of a person is its lowest id (the tests
/// use a clock that always moves forward, so the lowest id is the oldest). It knows nothing of links, precedence or the planner.
/// Requests must already be normalised.
/// </summary>
/// <remarks>
/// With guards it learns the guards' rules from their definition: values of the options' explicit blocklists are set
/// aside (it does not know the default blocklist: keep its values out of the requests); and when a request with both
/// identifiers would change a person so that it holds more distinct emails or phone numbers than a limit, the
/// lower-priority identifier is set aside and the request is applied without it.
/// </remarks>
public sealed class ReferenceModel(IdentityReconciliationOptions? guards = null)
{
    private readonly List<(long Id, string? Email, string? Phone)> _rows = [];
    private readonly Dictionary<string, string> _parent = [];

    public int RowCount => _rows.Count;

    public ContactCluster Identify(string? email, string? phone) =>
        IdentifyDetailed(email, phone)?.Contact ?? throw new InvalidOperationException("Every identifier of the request is blocked.");

    /// <summary>The person after the request and what was set aside, or <see langword="null"/> when every identifier is blocked (nothing changes).</summary>
    public (ContactCluster Contact, IReadOnlyList<(ContactIdentifierKind Kind, SetAsideReason Reason)> SetAside)? IdentifyDetailed(string? email, string? phone)
    {
        var setAside = new List<(ContactIdentifierKind Kind, SetAsideReason Reason)>();
        if (email != null && guards?.BlockedEmails.Contains(email) == true)
        {
            setAside.Add((ContactIdentifierKind.Email, SetAsideReason.Blocked));
            email = null;
        }

        if (phone != null && guards?.BlockedPhoneNumbers.Contains(phone) == true)
        {
            setAside.Add((ContactIdentifierKind.PhoneNumber, SetAsideReason.Blocked));
            phone = null;
        }

        if (email == null && phone == null)
        {
            return null;
        }

        if (guards != null && email != null && phone != null)
        {
            var emailPerson = PersonOf("e", email);
            var phonePerson = PersonOf("p", phone);
            if (emailPerson == null || emailPerson != phonePerson)
            {
                // The request would add an identifier or join two persons: count what the person would hold.
                var members = new[] { emailPerson, phonePerson }.OfType<string>().Distinct().SelectMany(Members).ToList();
                var emailsOver = members.Select(r => r.Email).Append(email).OfType<string>().Distinct().Count() > (guards.MaxEmailsPerPerson ?? int.MaxValue);
                var phonesOver = members.Select(r => r.Phone).Append(phone).OfType<string>().Distinct().Count() > (guards.MaxPhoneNumbersPerPerson ?? int.MaxValue);
                if (emailsOver || phonesOver)
                {
                    if (guards.IdentifierPriority == IdentifierPriority.EmailFirst)
                    {
                        setAside.Add((ContactIdentifierKind.PhoneNumber, phonesOver ? SetAsideReason.PhoneNumberLimit : SetAsideReason.EmailLimit));
                        phone = null;
                    }
                    else
                    {
                        setAside.Add((ContactIdentifierKind.Email, emailsOver ? SetAsideReason.EmailLimit : SetAsideReason.PhoneNumberLimit));
                        email = null;
                    }
                }
            }
        }

        return (Apply(email, phone), setAside);
    }

    private string? PersonOf(string kind, string value) =>
        _rows.Any(r => (kind == "e" ? r.Email : r.Phone) == value) ? Find(Key(kind, value)) : null;

    private ContactCluster Apply(string? email, string? phone)
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
