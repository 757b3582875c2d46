namespace IdentityReconciliation.Testing;

/// <summary>Checks the invariants of a whole contact graph (every row of a store, read outside the library).</summary>
public static class GraphInvariants
{

    /// <summary>
    /// Checks: one primary per cluster and it is the oldest; no chains; no duplicate rows; every identifier in exactly one
    /// cluster; clusters are the connected components of the (normalised) requests. With <paramref name="guards"/>, the
    /// guarded form of the last one instead (see <see cref="AssertComponentsUnderGuards"/>).
    /// </summary>
    /// <param name="rows">Every row of the store.</param>
    /// <param name="requests">Every request sent, normalised.</param>
    /// <param name="guards">
    /// The options the requests were sent with, when the guards could bite. Their explicit blocklists are applied to the
    /// requests; values of the default blocklist must not appear in <paramref name="requests"/>.
    /// </param>
    public static void AssertHold(IReadOnlyList<Contact> rows, IEnumerable<(string? Email, string? Phone)> requests, IdentityReconciliationOptions? guards = null)
    {
        rows = rows.Where(r => r.DeletedAt is null).ToList();
        rows.GroupBy(r => (r.Email, r.PhoneNumber)).Where(g => g.Count() > 1).Should().BeEmpty("no two rows hold the same email and phone");
        var (clusterOfEmail, clusterOfPhone) = AssertStructure(rows);
        if (guards is not null)
        {
            AssertComponentsUnderGuards(rows, requests, guards, clusterOfEmail, clusterOfPhone);
            return;
        }

        AssertRequests(clusterOfEmail, clusterOfPhone, requests);
    }

    /// <summary>
    /// The invariants that hold after any mix of identify requests and erasures: one primary per cluster and it is the
    /// oldest; no chains; every identifier in exactly one cluster; every row holds a value. Returns the cluster of each value.
    /// </summary>
    public static (Dictionary<string, long> ClusterOfEmail, Dictionary<string, long> ClusterOfPhone) AssertStructure(IReadOnlyList<Contact> rows)
    {
        rows = rows.Where(r => r.DeletedAt is null).ToList();
        rows.Should().OnlyContain(r => r.Email != null || r.PhoneNumber != null, "a contact left with no identifier is deleted");
        var byId = rows.ToDictionary(r => r.Id);
        foreach (var row in rows)
        {
            if (row.LinkPrecedence == LinkPrecedence.Primary)
            {
                row.LinkedId.Should().BeNull($"primary {row.Id} links nowhere");
            }
            else
            {
                
                row.LinkedId.Should().NotBeNull();
                byId.Should().ContainKey(row.LinkedId!.Value, $"secondary {row.Id} links to an existing contact");
                byId[row.LinkedId.Value].LinkPrecedence.Should().Be(LinkPrecedence.Primary, $"secondary {row.Id} links straight to a primary (no chains)");
            }
        }

        static long Root(Contact r) => r.LinkedId ?? r.Id;
        foreach (var cluster in rows.GroupBy(Root))
        {
            var primary = byId[cluster.Key];
            var oldest = cluster.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).First();
            oldest.Id.Should().Be(primary.Id, $"the primary of cluster {cluster.Key} is its oldest contact");
        }

        // Every identifier lives in exactly one cluster.
        var clusterOfEmail = new Dictionary<string, long>();
        var clusterOfPhone = new Dictionary<string, long>();
        foreach (var row in rows)
        {
            if (row.Email is not null)
            {
                clusterOfEmail.TryAdd(row.Email, Root(row));
                clusterOfEmail[row.Email].Should().Be(Root(row), $"email {row.Email} is in one cluster");
            }

            if (row.PhoneNumber is not null)
            {
                clusterOfPhone.TryAdd(row.PhoneNumber, Root(row));
                clusterOfPhone[row.PhoneNumber].Should().Be(Root(row), $"phone {row.PhoneNumber} is in one cluster");
            }
        }

        return (clusterOfEmail, clusterOfPhone);
    }

    /// <summary>
    /// After erasures: the clusters are exactly the connected components of the live rows over shared values and recorded
    /// links (a link joins the holder of its email to the holder of its phone number).
    /// </summary>
    public static void AssertClustersAreComponents(IReadOnlyList<Contact> rows, IReadOnlyList<ContactLink> links)
    {
        var (clusterOfEmail, clusterOfPhone) = AssertStructure(rows);
        var pairs = rows.Where(r => r.DeletedAt is null).Select(r => (r.Email, r.PhoneNumber))
            .Concat(links.Where(l => clusterOfEmail.ContainsKey(l.Email) && clusterOfPhone.ContainsKey(l.PhoneNumber)).Select(l => ((string?)l.Email, (string?)l.PhoneNumber)));
        AssertRequests(clusterOfEmail, clusterOfPhone, pairs);
    }

    /// <summary>No row and no link holds any of the values.</summary>
    public static void AssertAbsent(IReadOnlyList<Contact> rows, IReadOnlyList<ContactLink> links, IEnumerable<string> values)
    {
        foreach (var value in values)
        {
            rows.Should().NotContain(r => r.Email == value || r.PhoneNumber == value, $"{value} was erased");
            links.Should().NotContain(l => l.Email == value || l.PhoneNumber == value, $"{value} was erased from the links too");
        }
    }

    private static void AssertRequests(Dictionary<string, long> clusterOfEmail, Dictionary<string, long> clusterOfPhone, IEnumerable<(string? Email, string? Phone)> requests)
    {
        // Clusters are the connected components of the requests: identifiers requested together share a cluster, and two
        // clusters are never connected by a request.
        var uf = new Dictionary<string, string>();
        string Find(string k)
        {
            if (!uf.TryGetValue(k, out var p)) { uf[k] = k; return k; }
            return p == k ? k : uf[k] = Find(p);
        }

        var requestList = requests.ToList();
        foreach (var (email, phone) in requestList)
        {
            if (email is not null)
            {
                clusterOfEmail.Should().ContainKey(email, "every requested email is stored");
            }

            if (phone is not null)
            {
                clusterOfPhone.Should().ContainKey(phone, "every requested phone is stored");
            }

            if (email is not null && phone is not null)
            {
                clusterOfEmail[email].Should().Be(clusterOfPhone[phone], $"{email} and {phone} were requested together");
                var (a, b) = (Find("e:" + email), Find("p:" + phone));
                if (a != b)
                {
                    uf[a] = b;
                }
            }
        }

        var componentToCluster = new Dictionary<string, long>();
        foreach (var (key, cluster) in clusterOfEmail.Select(kv => ("e:" + kv.Key, kv.Value)).Concat(clusterOfPhone.Select(kv => ("p:" + kv.Key, kv.Value))))
        {
            var component = Find(key);
            componentToCluster.TryAdd(component, cluster);
            componentToCluster[component].Should().Be(cluster, "a connected component of the requests is one cluster");
        }

        componentToCluster.Values.Distinct().Count().Should().Be(componentToCluster.Count, "two components never share a cluster");
    }

    /// <summary>
    /// Under the guards: no cluster holds more distinct emails or phone numbers than its limit; no blocked value is stored;
    /// the higher-priority identifier of every request is stored; identifiers requested together share a cluster unless
    /// joining their clusters would exceed a limit; and every cluster is connected by the requests it was built from (the
    /// library never joins identifiers that no applied request joined).
    /// </summary>
    private static void AssertComponentsUnderGuards(
        IReadOnlyList<Contact> rows,
        IEnumerable<(string? Email, string? Phone)> requests,
        IdentityReconciliationOptions guards,
        Dictionary<string, long> clusterOfEmail,
        Dictionary<string, long> clusterOfPhone)
    {
        static long Root(Contact r) => r.LinkedId ?? r.Id;
        var emailsOf = rows.GroupBy(Root).ToDictionary(g => g.Key, g => g.Select(r => r.Email).OfType<string>().ToHashSet());
        var phonesOf = rows.GroupBy(Root).ToDictionary(g => g.Key, g => g.Select(r => r.PhoneNumber).OfType<string>().ToHashSet());
        foreach (var (cluster, emails) in emailsOf)
        {
            emails.Count.Should().BeLessThanOrEqualTo(guards.MaxEmailsPerPerson ?? int.MaxValue, $"person {cluster} respects the email limit");
            phonesOf[cluster].Count.Should().BeLessThanOrEqualTo(guards.MaxPhoneNumbersPerPerson ?? int.MaxValue, $"person {cluster} respects the phone number limit");
        }

        clusterOfEmail.Keys.Should().NotIntersectWith(guards.BlockedEmails, "a blocked email is never stored");
        clusterOfPhone.Keys.Should().NotIntersectWith(guards.BlockedPhoneNumbers, "a blocked phone number is never stored");

        // Identifiers joined by a stored row or by a request whose identifiers ended in one cluster.
        var uf = new Dictionary<string, string>();
        string Find(string k)
        {
            if (!uf.TryGetValue(k, out var p)) { uf[k] = k; return k; }
            return p == k ? k : uf[k] = Find(p);
        }

        void Union(string a, string b)
        {
            var (ra, rb) = (Find(a), Find(b));
            if (ra != rb)
            {
                uf[ra] = rb;
            }
        }

        foreach (var row in rows.Where(r => r.Email is not null && r.PhoneNumber is not null))
        {
            Union("e:" + row.Email, "p:" + row.PhoneNumber);
        }

        foreach (var (rawEmail, rawPhone) in requests)
        {
            var email = rawEmail is not null && !guards.BlockedEmails.Contains(rawEmail) ? rawEmail : null;
            var phone = rawPhone is not null && !guards.BlockedPhoneNumbers.Contains(rawPhone) ? rawPhone : null;
            if (email is null || phone is null)
            {
                if (email is not null)
                {
                    clusterOfEmail.Should().ContainKey(email, "a request's only identifier is stored");
                }

                if (phone is not null)
                {
                    clusterOfPhone.Should().ContainKey(phone, "a request's only identifier is stored");
                }

                continue;
            }

            if (guards.IdentifierPriority == IdentifierPriority.EmailFirst)
            {
                clusterOfEmail.Should().ContainKey(email, "the higher-priority identifier of a request is always stored");
            }
            else
            {
                clusterOfPhone.Should().ContainKey(phone, "the higher-priority identifier of a request is always stored");
            }

            var emailCluster = clusterOfEmail.TryGetValue(email, out var e) ? e : (long?)null;
            var phoneCluster = clusterOfPhone.TryGetValue(phone, out var p) ? p : (long?)null;
            if (emailCluster is not null && emailCluster == phoneCluster)
            {
                Union("e:" + email, "p:" + phone);
                continue;
            }

            // Set aside: joining must exceed a limit (clusters only grow, so what exceeded then still exceeds now).
            var joinedEmails = new HashSet<string> { email };
            var joinedPhones = new HashSet<string> { phone };
            foreach (var cluster in new[] { emailCluster, phoneCluster }.OfType<long>())
            {
                joinedEmails.UnionWith(emailsOf[cluster]);
                joinedPhones.UnionWith(phonesOf[cluster]);
            }

            (joinedEmails.Count > (guards.MaxEmailsPerPerson ?? int.MaxValue) || joinedPhones.Count > (guards.MaxPhoneNumbersPerPerson ?? int.MaxValue))
                .Should().BeTrue($"{email} and {phone} were requested together and are apart only if joining them would exceed a limit");
        }

        foreach (var cluster in rows.GroupBy(Root))
        {
            cluster.SelectMany(r => new[] { r.Email is null ? null : "e:" + r.Email, r.PhoneNumber is null ? null : "p:" + r.PhoneNumber })
                .OfType<string>().Select(Find).Distinct().Should().ContainSingle($"person {cluster.Key} is joined only by requests that were applied");
        }
    }
}
