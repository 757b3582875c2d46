using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// A store that starts on an empty table: the statements Npgsql prepares on each pooled connection get a generic plan after
/// five executions, while the table is still tiny; such a plan scans the table, and under constant load nothing replaced it.
/// The store's hot statements run under its plan guard (PostgreSqlQueries), so whatever plan they get reads the indexes.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlPlanCacheTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>
{
    private const int Callers = 16;
    private const int PersonsPerCaller = 100;
    private const int ReadsPerCaller = 200;

    [Fact]
    public async Task IdentifyAsync_TableGrowingFromEmptyUnderLoad_NeverScansTheTable()
    {
        var schema = "plans_" + Guid.NewGuid().ToString("N")[..12];
        var application = "idr-plans-" + Guid.NewGuid().ToString("N")[..8];

        // The schema first, by a store whose connections are closed before the counting starts (creating the indexes reads
        // the empty table).
        await using (var migrator = CreateStore(schema, application))
        {
            await migrator.EnsureSchemaAsync();
        }

        var before = await TableScansAsync(schema, application, "Contact");
        var feedBefore = await TableScansAsync(schema, application, "ContactChange");

        // 16 callers on one store (one pool): each writes its persons one by one, reading an earlier one after each
        // write; then they read persons from the whole grown table.
        await using (var store = CreateStore(schema, application))
        {
            var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, new ManualTimeProvider { AutoAdvance = TimeSpan.FromMilliseconds(1) }, null);
            await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                var lastSeen = 0L;
                for (var i = 0; i < PersonsPerCaller; i++)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest($"c{caller}p{i}@x.io", $"+1{caller:D2}{i:D4}"));
                    var earlier = random.Next(i + 1);
                    await reconciler.IdentifyAsync(new IdentifyRequest($"c{caller}p{earlier}@x.io", null));

                    // A relay polling the change feed, which starts empty too: it finds at least this caller's write.
                    var changes = await store.GetChangesAsync(lastSeen, 1_000);
                    changes.Should().NotBeEmpty();
                    lastSeen = changes[^1].Sequence;
                }
            })));

            await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(-caller);
                for (var i = 0; i < ReadsPerCaller; i++)
                {
                    var person = random.Next(PersonsPerCaller);
                    var owner = random.Next(Callers);
                    var result = await reconciler.IdentifyAsync(new IdentifyRequest(null, $"+1{owner:D2}{person:D4}"));
                    result.Emails.Should().Equal($"c{owner}p{person}@x.io");
                }
            })));
        }

        var after = await TableScansAsync(schema, application, "Contact");
        var feedAfter = await TableScansAsync(schema, application, "ContactChange");
        var operations = Callers * ((2 * PersonsPerCaller) + ReadsPerCaller);

        (after.IndexScans - before.IndexScans).Should().BeGreaterThanOrEqualTo(operations, "every identify reads the table through its indexes");
        (after.SequentialScans - before.SequentialScans).Should().Be(0, $"no statement of the store may scan the table ({after.SequentialScans - before.SequentialScans} sequential scans read {after.RowsReadBySequentialScans - before.RowsReadBySequentialScans} rows over {operations} identifies)");
        (feedAfter.SequentialScans - feedBefore.SequentialScans).Should().Be(0, $"reading the change feed may not scan it ({feedAfter.SequentialScans - feedBefore.SequentialScans} sequential scans read {feedAfter.RowsReadBySequentialScans - feedBefore.RowsReadBySequentialScans} rows)");
    }

    [Fact]
    public async Task PlanGuard_CallerOwnedDataSource_DoesNotOutliveTheStoresStatements()
    {
        var schema = "plans_" + Guid.NewGuid().ToString("N")[..12];
        var builder = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { MaxPoolSize = 1 };
        await using var dataSource = NpgsqlDataSource.Create(builder);
        await using var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { DataSource = dataSource, Schema = schema }));
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, new ManualTimeProvider { AutoAdvance = TimeSpan.FromMilliseconds(1) }, null);

        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", null));

        // The pool has one connection: the one every statement above ran on.
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SHOW enable_seqscan", connection);
        (await command.ExecuteScalarAsync()).Should().Be("on");
        await using var planCacheMode = new NpgsqlCommand("SHOW plan_cache_mode", connection);
        (await planCacheMode.ExecuteScalarAsync()).Should().Be("auto");
    }

    [Fact]
    public async Task IdentifyAsync_ManyWrites_NoStatementIsPlannedAgainOnEveryExecution()
    {
        // A prepared statement is planned again on each execution while PostgreSQL finds its custom plans cheaper than the
        // generic one. A statement with an array parameter always looks so: a custom plan knows the array holds 2 ids, the
        // generic plan guesses 10. That planning was paid on every write (12% of the server's time in a merge profile).
        var schema = "plans_" + Guid.NewGuid().ToString("N")[..12];
        var builder = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { MaxPoolSize = 1 };
        await using var dataSource = PostgreSqlContactStore.CreateDataSource(builder.ConnectionString);
        await using var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { DataSource = dataSource, Schema = schema }));
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, new ManualTimeProvider { AutoAdvance = TimeSpan.FromMilliseconds(1) }, null);

        // A table of some size, with statistics: on a tiny one the generic plans look as cheap as the custom ones.
        await store.EnsureSchemaAsync();
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO "{schema}"."Contact" ("phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt")
            SELECT '+9' || g, 'p' || ((g + 1) / 2) || '@y.io', CASE WHEN g % 2 = 0 THEN g - 1 END,
                   CASE WHEN g % 2 = 0 THEN 'secondary' ELSE 'primary' END, now(), now()
            FROM generate_series(1, 50000) g;
            ANALYZE "{schema}"."Contact";
            """);

        // Each round: two new persons, a secondary for each, a merge of the two (the newer primary demoted and its secondary
        // re-linked: one re-link of two ids), and a read.
        const int Rounds = 12;
        for (var i = 0; i < Rounds; i++)
        {
            await reconciler.IdentifyAsync(new IdentifyRequest($"a{i}@x.io", $"+1{i:D4}"));
            await reconciler.IdentifyAsync(new IdentifyRequest($"a{i}@x.io", $"+2{i:D4}"));
            await reconciler.IdentifyAsync(new IdentifyRequest($"b{i}@x.io", $"+3{i:D4}"));
            await reconciler.IdentifyAsync(new IdentifyRequest($"b{i}@x.io", $"+4{i:D4}"));
            var merged = await reconciler.IdentifyAsync(new IdentifyRequest($"a{i}@x.io", $"+3{i:D4}"));
            merged.SecondaryContactIds.Should().HaveCount(3);
            (await reconciler.IdentifyAsync(new IdentifyRequest($"b{i}@x.io", null))).PrimaryContactId.Should().Be(merged.PrimaryContactId);
        }

        // The pool has one connection: the one every statement above was prepared on.
        await using var connection = await dataSource.OpenConnectionAsync();
        var statements = (await connection.QueryAsync<(string Statement, long Generic, long Custom)>(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")).ToList();

        statements.Should().Contain(s => s.Statement.Contains("UPDATE", StringComparison.Ordinal), "the merges' re-link is prepared");
        foreach (var (statement, generic, custom) in statements)
        {
            // PostgreSQL makes five custom plans before it compares; a statement that went generic stops there.
            custom.Should().BeLessThanOrEqualTo(5, $"a statement run {generic + custom} times was planned {custom} times: {statement}");
        }
    }

    private PostgreSqlContactStore CreateStore(string schema, string application)
    {
        var builder = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { ApplicationName = application };
        return new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = builder.ConnectionString, Schema = schema }));
    }

    /// <summary>
    /// The table's scan counters once every backend of <paramref name="application"/> has exited: a backend reports its
    /// counters when it exits (and at most once a second while busy), so a closed pool has reported all of them.
    /// </summary>
    private async Task<(long SequentialScans, long RowsReadBySequentialScans, long IndexScans)> TableScansAsync(string schema, string application, string table)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = @Application", new { Application = application }) > 0)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the store's connections should close when it is disposed");
            await Task.Delay(20);
        }

        var rows = await fixture.Database.QueryAsync<(long, long, long)>(
            "SELECT seq_scan, seq_tup_read, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE schemaname = @Schema AND relname = @Table",
            new { Schema = schema, Table = table });
        return rows.Single();
    }
}
