namespace IdentityReconciliation.Tests.Support;

/// <summary>Checks the invariants of a whole contact graph (every row of a store, read outside the library).</summary>
public static class GraphInvariants
{

    /// <summary>
    /// Checks: one primary per cluster and it is the oldest; no chains; no duplicate rows; every identifier in exactly one
    /// cluster; clusters are the connected components of the (normalised) requests.
    /// </summary>
    public static void AssertHold(IReadOnlyList<Contact> rows, IEnumerable<(string? Email, string? Phone)> requests)
    {
        rows = rows.Where(r => r.DeletedAt is null).ToList();
        rows.GroupBy(r => (r.Email, r.PhoneNumber)).Where(g => g.Count() > 1).Should().BeEmpty("no two rows hold the same email and phone");
        var (clusterOfEmail, clusterOfPhone) = AssertStructure(rows);
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
}
