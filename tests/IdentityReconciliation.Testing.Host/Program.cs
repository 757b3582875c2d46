using System.Globalization;
using IdentityReconciliation.PostgreSql;
using IdentityReconciliation.Sqlite;

namespace IdentityReconciliation.Testing.Host;

/// <summary>
/// The child process of the multi-process tests (started with <see cref="TestingHost.Start"/>): real OS processes that
/// write to one database at once. The first argument names the store.
/// <list type="bullet">
/// <item><c>sqlite hammer DB_FILE SEED COUNT [CHECKPOINT_THRESHOLD]</c> (random requests), <c>sqlite race DB_FILE SEED COUNT</c>
/// (the requests that race an erasure), <c>sqlite hub DB_FILE PREFIX COUNT MAX_EMAILS</c> (new emails on one shared phone,
/// with that email limit), or <c>sqlite crash DB_FILE CHECKPOINT_THRESHOLD</c> (new persons from four callers,
/// <c>ack EMAIL</c> printed after each is acknowledged, until the process is killed).</item>
/// <item><c>postgres hammer SEED COUNT</c> or <c>postgres race SEED COUNT</c>, with the connection string in the
/// <see cref="TestingHost.PostgreSqlConnectionVariable"/> environment variable (never on the command line, where other
/// users of the machine could read its password).</item>
/// </list>
/// Each says <c>ready</c>, waits for <c>go</c> on its input so that the processes start together, and says <c>done</c>
/// when it has sent every request.
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: sqlite hammer|race DB_FILE SEED COUNT | sqlite hammer DB_FILE SEED COUNT CHECKPOINT_THRESHOLD | sqlite hub DB_FILE PREFIX COUNT MAX_EMAILS | sqlite crash DB_FILE CHECKPOINT_THRESHOLD | " +
        TestingHost.PostgreSqlConnectionVariable + "=... postgres hammer|race SEED COUNT (the child process of the multi-process tests: run them with dotnet test)";

    public static async Task<int> Main(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable(TestingHost.PostgreSqlConnectionVariable);
        switch (args)
        {
            case ["sqlite", "hub", var hubFile, var prefix, var hubCountText, var maxEmailsText]:
                var hubOptions = new IdentityReconciliationOptions { MaxEmailsPerPerson = Parse(maxEmailsText) };
                return await RunSqliteAsync(hubFile, hubOptions, MultiProcessRequests.Hub(prefix, Parse(hubCountText)));

            case ["sqlite", "crash", var crashFile, var crashThresholdText]:
                return await CrashSqliteAsync(crashFile, Parse(crashThresholdText));

            case ["sqlite", "hammer", var hammerFile, var hammerSeedText, var hammerCountText, var thresholdText]:
                var hammerRequests = MultiProcessRequests.Random(Parse(hammerSeedText), Parse(hammerCountText), MultiProcessRequests.SqliteUniverse);
                return await RunSqliteAsync(hammerFile, new IdentityReconciliationOptions(), hammerRequests, Parse(thresholdText));

            case ["sqlite", var mode and ("hammer" or "race"), var databaseFile, var seedText, var countText]:
                var (seed, count) = (Parse(seedText), Parse(countText));
                return mode == "race"
                    ? await RunSqliteAsync(databaseFile, ContactStoreContractTests.RaceGuards, ContactStoreContractTests.RaceRequests(seed, count))
                    : await RunSqliteAsync(databaseFile, new IdentityReconciliationOptions(), MultiProcessRequests.Random(seed, count, MultiProcessRequests.SqliteUniverse));

            case ["postgres", var mode and ("hammer" or "race"), var seedText, var countText] when !string.IsNullOrEmpty(connectionString):
                return await RunPostgreSqlAsync(connectionString, mode, Parse(seedText), Parse(countText));

            default:
                await Console.Error.WriteLineAsync(Usage);
                return 2;
        }
    }

    /// <summary>Writes new persons from four callers and says so after each acknowledgement, until it is killed.</summary>
    private static async Task<int> CrashSqliteAsync(string databaseFile, int checkpointThreshold)
    {
        var store = new SqliteContactStore(Microsoft.Extensions.Options.Options.Create(new SqliteContactStoreOptions
        {
            ConnectionString = $"Data Source={databaseFile}",
            CheckpointThreshold = checkpointThreshold,
        }));
        var reconciler = new IdentityReconciler(store);
        if (!await ReadyAsync(store))
        {
            return 3;
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                var email = MultiProcessRequests.CrashEmail(caller, i);
                await reconciler.IdentifyAsync(new IdentifyRequest(email, null));
                Console.WriteLine($"ack {email}"); // only after the commit that holds it
            }
        })));
        return 0;
    }

    private static async Task<int> RunSqliteAsync(string databaseFile, IdentityReconciliationOptions options, IEnumerable<(string? Email, string? Phone)> requests, int? checkpointThreshold = null)
    {
        var storeOptions = new SqliteContactStoreOptions { ConnectionString = $"Data Source={databaseFile}" };
        if (checkpointThreshold is { } threshold)
        {
            storeOptions.CheckpointThreshold = threshold;
        }

        var store = new SqliteContactStore(Microsoft.Extensions.Options.Options.Create(storeOptions));
        await using (store)
        {
            var reconciler = new IdentityReconciler(store, options);
            if (!await ReadyAsync(store))
            {
                return 3;
            }

            foreach (var (email, phone) in requests)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
            }
        }

        Console.WriteLine("done");
        return 0;
    }

    private static async Task<int> RunPostgreSqlAsync(string connectionString, string mode, int seed, int count)
    {
        var store = new PostgreSqlContactStore(connectionString);
        await using (store)
        {
            var reconciler = mode == "race" ? new IdentityReconciler(store, ContactStoreContractTests.RaceGuards) : new IdentityReconciler(store);
            if (!await ReadyAsync(store))
            {
                return 3;
            }

            var requests = mode == "race" ? ContactStoreContractTests.RaceRequests(seed, count) : MultiProcessRequests.Random(seed, count, MultiProcessRequests.PostgreSqlUniverse);
            await Parallel.ForEachAsync(requests.Chunk(50), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (chunk, ct) =>
            {
                foreach (var (email, phone) in chunk)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                }
            });
        }

        Console.WriteLine("done");
        return 0;
    }

    /// <summary>Warms the store up (schema, connections), says <c>ready</c>, then waits for the word to start together with the other processes.</summary>
    private static async Task<bool> ReadyAsync(IContactStore store)
    {
        await store.FindClustersAsync(new ContactIdentifiers("warm-up@x.io", null));
        Console.WriteLine("ready");
        return await Console.In.ReadLineAsync() == "go";
    }

    private static int Parse(string text) => int.Parse(text, CultureInfo.InvariantCulture);
}
