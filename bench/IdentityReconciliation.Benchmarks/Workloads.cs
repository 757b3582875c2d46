namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The data set and the request streams, deterministic from a seed.
/// A store of N contacts holds N/2 persons; person k has a primary (user{k}@example.com, +1{k}) and a secondary
/// (user{k}@example.com, +2{k}) for their second phone — small clusters, as in retail. Because every person's second
/// phone is preloaded, the retail stream is the steady state of repeat customers at every store size (new information is
/// what write-heavy measures, and joining clusters what merge-heavy measures), so sizes compare lookups with lookups.
/// </summary>
internal static class Workloads
{
    public const string Retail = "retail";
    public const string WriteHeavy = "write-heavy";
    public const string MergeHeavy = "merge-heavy";

    public static readonly string[] All = [Retail, WriteHeavy, MergeHeavy];

    public static string Email(long person) => $"user{person}@example.com";

    public static string Phone(long person) => $"+1{person:D10}";

    public static string SecondPhone(long person) => $"+2{person:D10}";

    /// <summary>
    /// Pre-generates the requests of a run so that the harness allocates nothing while it measures.
    /// </summary>
    public static IdentifyRequest[] Generate(string workload, long contacts, int count, int seed)
    {
        var persons = contacts / 2;
        var random = new Random(seed);
        var requests = new IdentifyRequest[count];
        switch (workload)
        {
            case Retail:
                // 60% (email_k, phone_k), 20% email only, 10% phone only, 10% (email_k, a second phone of k).
                for (var i = 0; i < count; i++)
                {
                    var k = random.NextInt64(1, persons + 1);
                    var roll = random.Next(10);
                    requests[i] = roll switch
                    {
                        < 6 => new IdentifyRequest(Email(k), Phone(k)),
                        < 8 => new IdentifyRequest(Email(k), null),
                        < 9 => new IdentifyRequest(null, Phone(k)),
                        _ => new IdentifyRequest(Email(k), SecondPhone(k)),
                    };
                }

                break;
            case WriteHeavy:
                // Every request is a new person.
                for (var i = 0; i < count; i++)
                {
                    var k = persons + 1 + i;
                    requests[i] = new IdentifyRequest(Email(k), Phone(k));
                }

                break;
            case MergeHeavy:
                // Each request bridges two untouched persons: the newer primary is demoted and its secondary re-pointed.
                // Pairs are shuffled so that consecutive requests touch far-apart rows.
                var pairs = (int)Math.Min(count, persons / 2);
                var order = Enumerable.Range(0, pairs).ToArray();
                random.Shuffle(order);
                requests = new IdentifyRequest[pairs];
                for (var i = 0; i < pairs; i++)
                {
                    var a = (2L * order[i]) + 1;
                    requests[i] = new IdentifyRequest(Email(a), Phone(a + 1));
                }

                break;
            default:
                throw new ArgumentException($"Unknown workload '{workload}'.", nameof(workload));
        }

        return requests;
    }
}
