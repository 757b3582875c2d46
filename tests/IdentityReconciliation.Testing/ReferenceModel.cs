namespace IdentityReconciliation.Testing;

/// <summary>
/// A deliberately simple, independent model of the product: rows of (id, email, phone), the joins recorded when a request
/// brought together an email and a phone number of two different persons, and persons as the connected components of the
/// rows' identifiers and those joins (a union-find rebuilt on every call). The primary of a person is its lowest id (the
/// tests use a clock that always moves forward, so the lowest id is the oldest). It knows nothing of links, precedence or
/// the planners. Requests must already be normalised.
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
    private readonly List<(string Email, string Phone)> _joins = [];
    private long _lastId;

    public int RowCount => _rows.Count;

    public IReadOnlyList<long> ContactIds => _rows.Select(r => r.Id).ToList();

    /// <summary>The primary of every row: the lowest id of its person (what a replay of the change feed must rebuild).</summary>
    public IReadOnlyDictionary<long, long> PrimaryOfEachRow()
    {
        var components = Components();
        var lowest = _rows.GroupBy(components.Of).ToDictionary(g => g.Key, g => g.Min(r => r.Id));
        return _rows.ToDictionary(r => r.Id, r => lowest[components.Of(r)]);
    }

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
            var components = Components();
            var emailPerson = PersonOf(components, "e", email);
            var phonePerson = PersonOf(components, "p", phone);
            if (emailPerson == null || emailPerson != phonePerson)
            {
                // The request would add an identifier or join two persons: count what the person would hold.
                var persons = new[] { emailPerson, phonePerson }.OfType<string>().ToHashSet();
                var members = _rows.Where(r => persons.Contains(components.Of(r))).ToList();
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

    private string? PersonOf(UnionFind components, string kind, string value) =>
        _rows.Any(r => (kind == "e" ? r.Email : r.Phone) == value) ? components.Find(Key(kind, value)) : null;

    private ContactCluster Apply(string? email, string? phone)
    {
        var components = Components();
        var emailKnown = email != null && _rows.Any(r => r.Email == email);
        var phoneKnown = phone != null && _rows.Any(r => r.Phone == phone);
        if (emailKnown && phoneKnown && components.Find(Key("e", email!)) != components.Find(Key("p", phone!)))
        {
            _joins.Add((email!, phone!)); // the request joins two persons: remember why
        }

        if ((email != null && !emailKnown) || (phone != null && !phoneKnown))
        {
            _rows.Add((++_lastId, email, phone));
        }

        components = Components();
        var component = components.Find(email != null ? Key("e", email) : Key("p", phone!));
        return View(_rows.Where(r => components.Of(r) == component));
    }

    /// <summary>Erases the values from every row and join; rows left empty go; what remains of the touched persons is regrouped.</summary>
    public ErasureResult Erase(string? email, string? phone) =>
        Erase(email is null ? [] : [email], phone is null ? [] : [phone]);

    /// <summary>Erases every value of the person that row <paramref name="contactId"/> belongs to.</summary>
    public ErasureResult ErasePerson(long contactId)
    {
        if (!_rows.Any(r => r.Id == contactId))
        {
            return ErasureResult.Nothing;
        }

        var components = Components();
        var component = components.Of(_rows.Single(r => r.Id == contactId));
        var person = _rows.Where(r => components.Of(r) == component).ToList();
        return Erase(person.Select(r => r.Email).OfType<string>().ToHashSet(), person.Select(r => r.Phone).OfType<string>().ToHashSet());
    }

    private ErasureResult Erase(HashSet<string> emails, HashSet<string> phones)
    {
        var before = Components();
        var linkBefore = _rows.ToDictionary(r => r.Id, r => LinkedId(before, r));
        var affected = _rows.Where(Holds).Select(before.Of).ToHashSet();
        var personOf = _rows.ToDictionary(r => r.Id, before.Of);
        if (affected.Count == 0)
        {
            _joins.RemoveAll(j => emails.Contains(j.Email) || phones.Contains(j.Phone));
            return ErasureResult.Nothing;
        }

        var erased = new List<long>();
        var changed = new HashSet<long>();
        for (var i = _rows.Count - 1; i >= 0; i--)
        {
            var (id, email, phone) = _rows[i];
            var keptEmail = email != null && emails.Contains(email) ? null : email;
            var keptPhone = phone != null && phones.Contains(phone) ? null : phone;
            if (keptEmail == null && keptPhone == null)
            {
                erased.Add(id);
                _rows.RemoveAt(i);
            }
            else if (keptEmail != email || keptPhone != phone)
            {
                changed.Add(id);
                _rows[i] = (id, keptEmail, keptPhone);
            }
        }

        _joins.RemoveAll(j => emails.Contains(j.Email) || phones.Contains(j.Phone));
        var after = Components();
        foreach (var row in _rows)
        {
            if (LinkedId(after, row) != linkBefore[row.Id])
            {
                changed.Add(row.Id);
            }
        }

        var persons = _rows
            .Where(r => affected.Contains(personOf[r.Id]))
            .GroupBy(after.Of)
            .Select(View)
            .OrderBy(p => p.PrimaryContactId)
            .ToList();
        return new ErasureResult([.. erased.Order()], [.. changed.Order()], persons);

        bool Holds((long Id, string? Email, string? Phone) row) =>
            (row.Email != null && emails.Contains(row.Email)) || (row.Phone != null && phones.Contains(row.Phone));
    }

    /// <summary>The link a row would have in the store: none for the lowest id of its person, else that id.</summary>
    private long? LinkedId(UnionFind components, (long Id, string? Email, string? Phone) row)
    {
        var component = components.Of(row);
        var primary = _rows.Where(r => components.Of(r) == component).Min(r => r.Id);
        return primary == row.Id ? null : primary;
    }

    private static ContactCluster View(IEnumerable<(long Id, string? Email, string? Phone)> members)
    {
        var ordered = members.OrderBy(r => r.Id).ToList();
        var primary = ordered[0];
        var emails = new[] { primary.Email }.Concat(ordered.Select(r => r.Email)).Where(e => e != null).Select(e => e!).Distinct().ToList();
        var phones = new[] { primary.Phone }.Concat(ordered.Select(r => r.Phone)).Where(p => p != null).Select(p => p!).Distinct().ToList();
        return new ContactCluster(primary.Id, emails, phones, ordered.Skip(1).Select(r => r.Id).ToList());
    }

    private static string Key(string kind, string value) => kind + ":" + value;

    private UnionFind Components()
    {
        var components = new UnionFind();
        foreach (var (_, email, phone) in _rows)
        {
            components.Find(email != null ? Key("e", email) : Key("p", phone!));
            if (email != null && phone != null)
            {
                components.Union(Key("e", email), Key("p", phone));
            }
        }

        foreach (var (email, phone) in _joins)
        {
            components.Union(Key("e", email), Key("p", phone));
        }

        return components;
    }

    private sealed class UnionFind
    {
        private readonly Dictionary<string, string> _parent = [];

        public string Of((long Id, string? Email, string? Phone) row) => Find(row.Email != null ? Key("e", row.Email) : Key("p", row.Phone!));

        public string Find(string key)
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

        public void Union(string a, string b)
        {
            var ra = Find(a);
            var rb = Find(b);
            if (ra != rb)
            {
                _parent[ra] = rb;
            }
        }
    }
}
