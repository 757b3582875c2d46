using IdentityReconciliation.Sqlite;

namespace IdentityReconciliation.Tests;

/// <summary>
/// The test assembly is also a small program, so that <see cref="MultiProcessTests"/> can start real OS processes that
/// write to one SQLite file: <c>dotnet IdentityReconciliation.Core.Tests.dll hammer DB_FILE SEED COUNT [CHECKPOINT_THRESHOLD]</c>
/// (random requests), <c>race DB_FILE SEED COUNT</c> (the requests that race an erasure), <c>hub DB_FILE PREFIX COUNT MAX_EMAILS</c>
/// (new emails on one shared phone, with that email limit), or <c>crash DB_FILE CHECKPOINT_THRESHOLD</c> (new persons from
/// four callers, <c>ack EMAIL</c> printed after each is acknowledged, until the process is killed).
/// The test runner does not use this entry point.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["hub", var hubFile, var prefix, var hubCountText, var maxEmailsText])
        {
            var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = int.Parse(maxEmailsText, System.Globalization.CultureInfo.InvariantCulture) };
            return await RunAsync(hubFile, options, MultiProcessTests.HubRequests(prefix, int.Parse(hubCountText, System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (args is ["crash", var crashFile, var crashThresholdText])
        {
            return await CrashAsync(crashFile, int.Parse(crashThresholdText, System.Globalization.CultureInfo.InvariantCulture));
        }

        if (args is ["hammer", var hammerFile, var hammerSeedText, var hammerCountText, var thresholdText])
        {
            var hammerRequests = MultiProcessTests.Requests(int.Parse(hammerSeedText, System.Globalization.CultureInfo.InvariantCulture), int.Parse(hammerCountText, System.Globalization.CultureInfo.InvariantCulture));
            return await RunAsync(hammerFile, new IdentityReconciliationOptions(), hammerRequests, int.Parse(thresholdText, System.Globalization.CultureInfo.InvariantCulture));
        }

        if (args is not [var mode and ("hammer" or "race"), var databaseFile, var seedText, var countText])
        {
            await Console.Error.WriteLineAsync("usage: hammer|race DB_FILE SEED COUNT | hammer DB_FILE SEED COUNT CHECKPOINT_THRESHOLD | hub DB_FILE PREFIX COUNT MAX_EMAILS | crash DB_FILE CHECKPOINT_THRESHOLD (this assembly holds tests: run them with dotnet test)");
            return 2;
        }

        var seed = int.Parse(seedText, System.Globalization.CultureInfo.InvariantCulture);
        var count = int.Parse(countText, System.Globalization.CultureInfo.InvariantCulture);
        var requests = mode == "race" ? ContactStoreContractTests.RaceRequests(seed, count) : MultiProcessTests.Requests(seed, count);
        return await RunAsync(databaseFile, mode == "race" ? ContactStoreContractTests.RaceGuards : new IdentityReconciliationOptions(), requests);
    }

    /// <summary>Writes new persons from four callers and says so after each acknowledgement, until it is killed.</summary>
    private static async Task<int> CrashAsync(string databaseFile, int checkpointThreshold)
    {
        var store = new SqliteContactStore(Microsoft.Extensions.Options.Options.Create(new SqliteContactStoreOptions
        {
            ConnectionString = $"Data Source={databaseFile}",
            CheckpointThreshold = checkpointThreshold,
        }));
        var reconciler = new IdentityReconciler(store);
        await store.FindClustersAsync(new ContactIdentifiers("warm-up@x.io", null));
        Console.WriteLine("ready");
        if (await Console.In.ReadLineAsync() != "go")
        {
            return 3;
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                var email = MultiProcessTests.CrashEmail(caller, i);
                await reconciler.IdentifyAsync(new IdentifyRequest(email, null));
                Console.WriteLine($"ack {email}"); // only after the commit that holds it
            }
        })));
        return 0;
    }

    private static async Task<int> RunAsync(string databaseFile, IdentityReconciliationOptions options, IEnumerable<(string? Email, string? Phone)> requests, int? checkpointThreshold = null)
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
            await store.FindClustersAsync(new ContactIdentifiers("warm-up@x.io", null));

            // Start together with the other processes: say we are ready, then wait for the word.
            Console.WriteLine("ready");
            if (await Console.In.ReadLineAsync() != "go")
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
}
