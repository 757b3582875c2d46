using System.Diagnostics;
using System.Globalization;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// <c>--overhead</c>: the CPU the guards add to one <c>IdentifyAsync</c>, without a database. A store that answers from
/// memory in constant time (no I/O, nothing kept) stands in for SQLite, so the figures are the reconciler's own work:
/// normalising, validating, the blocklist checks, planning with and without the limit check, consolidating. Each case runs
/// in alternating rounds with the guards off and on, and the median round of each is kept. The difference, set against a
/// request's cost on a real store, bounds what the guards can take from its throughput; the store benchmark itself is too
/// noisy on a shared machine (its own run-to-run spread is larger than the effect).
/// </summary>
internal static class GuardOverhead
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task<string> RunAsync(int rounds, int callsPerRound)
    {
        // The shapes of the store workloads: a repeat customer (a person of two contacts), a new person, a merge of two persons.
        var cases = new (string Name, IdentifyRequest Request, IReadOnlyList<Contact> Touched)[]
        {
            ("retail (read-only, 2 contacts)", new IdentifyRequest("user7@example.com", "+10000000007"), Person(7, 1)),
            ("write-heavy (new person)", new IdentifyRequest("user9@example.com", "+10000000009"), []),
            ("merge-heavy (2 persons of 2)", new IdentifyRequest("user1@example.com", "+10000000002"), [.. Person(1, 1), .. Person(2, 3)]),
        };
        var settings = new[]
        {
            ("off", new IdentityReconciliationOptions { UseDefaultBlocklist = false, MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null }),
            ("on", new IdentityReconciliationOptions()),
        };

        var lines = new List<string>
        {
            $"Guard overhead without a database: {rounds} alternating rounds of {callsPerRound:N0} calls per setting, median round, one thread.",
            "",
            "| case | ns/identify, guards off | ns/identify, guards on | on − off | B/identify off | B/identify on |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        };
        foreach (var (name, request, touched) in cases)
        {
            var store = new MemoryStore(touched);
            var reconcilers = settings.Select(s => new IdentityReconciler(store, s.Item2)).ToArray();
            var nanoseconds = new List<double>[] { [], [] };
            var bytes = new long[2];
            for (var round = 0; round < rounds; round++)
            {
                foreach (var index in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
                {
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    var started = Stopwatch.GetTimestamp();
                    for (var i = 0; i < callsPerRound; i++)
                    {
                        await reconcilers[index].IdentifyAsync(request);
                    }

                    var elapsed = Stopwatch.GetElapsedTime(started);
                    nanoseconds[index].Add(elapsed.TotalNanoseconds / callsPerRound);
                    bytes[index] = (GC.GetAllocatedBytesForCurrentThread() - allocated) / callsPerRound;
                }
            }

            var off = Median(nanoseconds[0]);
            var on = Median(nanoseconds[1]);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| {name} | {off:N0} | {on:N0} | {on - off:+#,0;-#,0;0} | {bytes[0]:N0} | {bytes[1]:N0} |"));
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static Contact[] Person(long k, long firstId) =>
    [
        new(firstId, $"+1{k:D10}", $"user{k}@example.com", null, LinkPrecedence.Primary, Epoch.AddSeconds(firstId), Epoch.AddSeconds(firstId)),
        new(firstId + 1, $"+2{k:D10}", $"user{k}@example.com", firstId, LinkPrecedence.Secondary, Epoch.AddSeconds(firstId + 1), Epoch.AddSeconds(firstId + 1)),
    ];

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    /// <summary>Answers every request with the same touched clusters and applies nothing: constant work per call.</summary>
    private sealed class MemoryStore(IReadOnlyList<Contact> touched) : IContactStore
    {
        private readonly Task<IReadOnlyList<Contact>> _touched = Task.FromResult(touched);

        public Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default) => _touched;

        public Task<IReadOnlyList<Contact>> ReconcileAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken = default)
        {
            var changes = plan(touched);
            var id = changes.Insert is null ? (long?)null : touched.Count + 100;
            return Task.FromResult(changes.ApplyTo(touched, id));
        }

        public Task<IReadOnlyList<Contact>> EraseAsync(ContactIdentifiers identifiers, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The guard-overhead store does not erase.");

        public Task<IReadOnlyList<Contact>> ErasePersonAsync(long contactId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The guard-overhead store does not erase.");

        public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<ContactChange>>([]);

        public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<ContactChange>>([]);

        public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default) =>
            Task.FromResult<PersonGraph?>(null);

        public Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default) =>
            Task.FromResult(0L);
    }
}
