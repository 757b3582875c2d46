using System.Globalization;
using IdentityReconciliation.PostgreSql.Diagnostics;
using IdentityReconciliation.PostgreSql.Tests.Support;
using IdentityReconciliation.Testing;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// Group commit (<see cref="PostgreSqlContactStoreOptions.GroupCommitMaxSize"/>): writes that queue while the store's write
/// slots are busy are committed together in one transaction, each keeping its own result, failure and cancellation. The
/// tests hold the store's only slot with a write whose plan waits, queue writes behind it, and read the rows' <c>xmin</c>
/// (the id of the transaction that wrote them) to see which writes shared a transaction.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlGroupCommitTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private readonly string _schema = "groups_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task ReconcileAsync_WritesQueuedBehindABusySlot_AreCommittedInOneTransactionEachWithItsOwnResult()
    {
        using var metrics = new StoreMetrics();
        await using var store = await CreateStoreAsync();
        await using var blocker = Blocker.Start(store, "a@x.io");
        await blocker.Entered;

        var c = store.ReconcileAsync(Identifiers("c@x.io", "3"), Plan("c@x.io", "3"));
        var d = store.ReconcileAsync(Identifiers("d@x.io", "4"), Plan("d@x.io", "4"));
        var e = store.ReconcileAsync(Identifiers("c@x.io", "5"), Plan("c@x.io", "5"));
        blocker.Release();

        (await blocker.Write).Should().ContainSingle(x => x.Email == "a@x.io");
        (await c).Should().ContainSingle().Which.Email.Should().Be("c@x.io");
        (await d).Should().ContainSingle().Which.Email.Should().Be("d@x.io");
        (await e).Select(x => (x.Email, x.PhoneNumber)).Should().Equal(("c@x.io", "3"), ("c@x.io", "5"));
        var writers = await TransactionsAsync();
        writers["a@x.io"].Should().ContainSingle();
        writers["c@x.io"].Concat(writers["d@x.io"]).Distinct().Should().ContainSingle("c, d and the later c write were queued together and committed in one transaction")
            .Which.Should().NotBe(writers["a@x.io"].Single());
        metrics.Values(PostgreSqlContactStoreTelemetry.GroupCommitSizeHistogram).Should().Contain(3);
        GraphInvariants.AssertHold(await fixture.Database.ReadAllAsync(_schema), [("a@x.io", "1"), ("c@x.io", "3"), ("d@x.io", "4"), ("c@x.io", "5")]);
    }

    [Fact]
    public async Task ReconcileAsync_APlanInTheGroupThrows_FailsOnlyThatWrite()
    {
        await using var store = await CreateStoreAsync();
        await using var blocker = Blocker.Start(store, "a@x.io");
        await blocker.Entered;

        var bad = store.ReconcileAsync(Identifiers("bad@x.io", "2"), _ => throw new InvalidOperationException("the plan failed"));
        var c = store.ReconcileAsync(Identifiers("c@x.io", "3"), Plan("c@x.io", "3"));
        var d = store.ReconcileAsync(Identifiers("d@x.io", "4"), Plan("d@x.io", "4"));
        blocker.Release();

        await blocker.Write;
        await bad.Invoking(t => t).Should().ThrowAsync<InvalidOperationException>().WithMessage("the plan failed");
        (await c).Should().ContainSingle();
        (await d).Should().ContainSingle();
        var rows = await fixture.Database.ReadAllAsync(_schema);
        rows.Select(r => r.Email).Should().BeEquivalentTo(["a@x.io", "c@x.io", "d@x.io"], "the failed write left nothing, the others of its group committed");
        var writers = await TransactionsAsync();
        writers["c@x.io"].Should().Equal(writers["d@x.io"], "c and d still shared their group's transaction");
    }

    [Fact]
    public async Task ReconcileAsync_CancelledWhileQueued_CompletesAtOnceAndWritesNothing()
    {
        await using var store = await CreateStoreAsync();
        await using var blocker = Blocker.Start(store, "a@x.io");
        await blocker.Entered;
        using var cancellation = new CancellationTokenSource();

        var cancelled = store.ReconcileAsync(Identifiers("gone@x.io", "2"), Plan("gone@x.io", "2"), cancellation.Token);
        var kept = store.ReconcileAsync(Identifiers("c@x.io", "3"), Plan("c@x.io", "3"));
        await cancellation.CancelAsync();

        await cancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>("it was still waiting for a slot");
        blocker.Write.IsCompleted.Should().BeFalse("the slot is still held: the cancelled write left the queue on its own");
        blocker.Release();
        await blocker.Write;
        (await kept).Should().ContainSingle();
        (await fixture.Database.ReadAllAsync(_schema)).Select(r => r.Email).Should().BeEquivalentTo(["a@x.io", "c@x.io"]);
    }

    [Fact]
    public async Task ReconcileAsync_GroupConnectionKilled_RetriesTheWholeGroupAndAppliesEachWriteOnce()
    {
        using var metrics = new StoreMetrics();
        await using var store = await CreateStoreAsync();
        await using var blocker = Blocker.Start(store, "a@x.io");
        await blocker.Entered;
        using var groupEntered = new SemaphoreSlim(0);
        using var groupRelease = new SemaphoreSlim(0);
        var calls = 0;

        var b = store.ReconcileAsync(Identifiers("b@x.io", "2"), touched =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                groupEntered.Release();
                groupRelease.Wait();
            }

            return ContactPlanner.Plan(Identifiers("b@x.io", "2"), touched, Now);
        });
        var c = store.ReconcileAsync(Identifiers("c@x.io", "3"), Plan("c@x.io", "3"));
        blocker.Release();
        await blocker.Write;
        (await groupEntered.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue("the group's transaction plans b");

        var killed = await fixture.Database.ScalarAsync<int>("""
            SELECT count(pg_terminate_backend(pid))::int FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """);
        killed.Should().BeGreaterThan(0, "the group's transaction holds its identifier locks while it plans");
        groupRelease.Release();

        (await b).Should().ContainSingle();
        (await c).Should().ContainSingle();
        calls.Should().BeGreaterThan(1, "the group ran again after its connection was killed");
        var rows = await fixture.Database.ReadAllAsync(_schema);
        rows.Select(r => r.Email).Should().BeEquivalentTo(["a@x.io", "b@x.io", "c@x.io"], "each write of the retried group applied once");
        metrics.Count(PostgreSqlContactStoreTelemetry.RetriesCounter, ("operation", "reconcile_group")).Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task ReconcileAsync_TheSlotIsHeldByAWriteThatWaits_AnotherSlotOpensForTheQueueAfterTheStallDelay()
    {
        using var metrics = new StoreMetrics();
        await using var store = await CreateStoreAsync(stallDelay: TimeSpan.FromMilliseconds(50));
        await using var blocker = Blocker.Start(store, "a@x.io");
        await blocker.Entered;

        var c = store.ReconcileAsync(Identifiers("c@x.io", "3"), Plan("c@x.io", "3"));
        var d = store.ReconcileAsync(Identifiers("d@x.io", "4"), Plan("d@x.io", "4"));

        (await c.WaitAsync(TimeSpan.FromSeconds(30))).Should().ContainSingle();
        (await d).Should().ContainSingle();
        blocker.Write.IsCompleted.Should().BeFalse("the queued writes did not wait for the write holding the only slot");
        metrics.Count(PostgreSqlContactStoreTelemetry.GroupCommitStallsCounter).Should().BeGreaterThanOrEqualTo(1);
        blocker.Release();
        await blocker.Write;
        var writers = await TransactionsAsync();
        writers["c@x.io"].Should().Equal(writers["d@x.io"], "the extra slot committed the queue as one group");
    }

    [Theory]
    [InlineData(1, 64, 1)]
    [InlineData(2, 64, 2)]
    [InlineData(3, 3, 1)]
    public async Task IdentifyAsync_ManyConcurrentCallers_KeepTheGraphInvariants(int seed, int maxGroup, int slots)
    {
        await using var store = await CreateStoreAsync(slots: slots, maxGroup: maxGroup);
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null };
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, TimeProvider.System, Options.Create(options), null);
        var random = new Random(seed);
        var streams = Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, 40).Select(_ => Request(random)).ToList()).ToList();

        await Task.WhenAll(streams.Select(stream => Task.Run(async () =>
        {
            foreach (var request in stream)
            {
                var cluster = await reconciler.IdentifyAsync(request);
                if (request.Email is not null)
                {
                    cluster.Emails.Should().Contain(request.Email);
                }

                if (request.PhoneNumber is not null)
                {
                    cluster.PhoneNumbers.Should().Contain(request.PhoneNumber);
                }
            }
        })));

        GraphInvariants.AssertHold(await fixture.Database.ReadAllAsync(_schema), streams.SelectMany(s => s).Select(r => (r.Email, r.PhoneNumber)));
    }

    [Fact]
    public void Options_GroupCommitMaxSizeOutOfRange_FailsValidationNamingTheSetting()
    {
        var act = () => new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = "Host=127.0.0.1", GroupCommitMaxSize = 0 }));

        act.Should().Throw<OptionsValidationException>().WithMessage("*GroupCommitMaxSize*");
    }

    /// <summary>A store; by default with one slot and no extra slot for a stalled queue, so that queued writes wait for the blocker.</summary>
    private async Task<PostgreSqlContactStore> CreateStoreAsync(int slots = 1, int maxGroup = 64, TimeSpan? stallDelay = null)
    {
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = fixture.Database.ConnectionString,
            Schema = _schema,
            GroupCommitSlots = slots,
            GroupCommitMaxSize = maxGroup,
            GroupCommitStallDelay = stallDelay ?? TimeSpan.FromHours(1),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        }));
        await store.EnsureSchemaAsync();
        return store;
    }

    /// <summary>The transaction ids (<c>xmin</c>) that last wrote each email's rows.</summary>
    private async Task<ILookup<string, long>> TransactionsAsync()
    {
        var rows = await fixture.Database.QueryAsync<(string Email, long Xmin)>($"""SELECT "email", xmin::text::bigint FROM "{_schema}"."Contact" """);
        return rows.ToLookup(r => r.Email, r => r.Xmin);
    }

    private static ContactIdentifiers Identifiers(string? email, string? phone) => new(email, phone);

    private static Func<IReadOnlyList<Contact>, ContactChangeSet> Plan(string? email, string? phone) =>
        touched => ContactPlanner.Plan(Identifiers(email, phone), touched, Now);

    private static IdentifyRequest Request(Random random)
    {
        string? email = random.Next(5) == 0 ? null : $"g{random.Next(60).ToString(CultureInfo.InvariantCulture)}@x.io";
        string? phone = email is not null && random.Next(4) == 0 ? null : (2000 + random.Next(60)).ToString(CultureInfo.InvariantCulture);
        return new IdentifyRequest(email, phone);
    }

    /// <summary>A write that holds the store's only slot: its plan waits (on its first call) until released.</summary>
    private sealed class Blocker : IAsyncDisposable
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();
        private int _calls;

        private Blocker()
        {
        }

        public Task Entered => _entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        public Task<IReadOnlyList<Contact>> Write { get; private set; } = null!;

        public static Blocker Start(PostgreSqlContactStore store, string email)
        {
            var blocker = new Blocker();
            blocker.Write = Task.Run(() => store.ReconcileAsync(Identifiers(email, "1"), touched =>
            {
                if (Interlocked.Increment(ref blocker._calls) == 1)
                {
                    blocker._entered.TrySetResult();
                    blocker._release.Wait(TimeSpan.FromSeconds(30));
                }

                return ContactPlanner.Plan(Identifiers(email, "1"), touched, Now);
            }));
            return blocker;
        }

        public void Release() => _release.Set();

        public async ValueTask DisposeAsync()
        {
            _release.Set();
            try
            {
                await Write;
            }
            catch (Exception) when (Write.IsFaulted)
            {
                // The test already failed for its own reason.
            }

            _release.Dispose();
        }
    }
}
