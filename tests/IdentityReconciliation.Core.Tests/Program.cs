using IdentityReconciliation.Sqlite;

namespace IdentityReconciliation.Tests;

/// <summary>
/// The test assembly is also a small program, so that <see cref="MultiProcessTests"/> can start real OS processes that
/// write to one SQLite file: <c>dotnet IdentityReconciliation.Core.Tests.dll hammer DB_FILE SEED COUNT</c> (random
/// requests), <c>race DB_FILE SEED COUNT</c> (the requests that race an erasure), or <c>hub DB_FILE PREFIX COUNT MAX_EMAILS</c> (new emails on one shared phone, with that email limit).
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

        if (args is not [var mode and ("hammer" or "race"), var databaseFile, var seedText, var countText])
        {
            await Console.Error.WriteLineAsync("usage: hammer|race DB_FILE SEED COUNT | hub DB_FILE PREFIX COUNT MAX_EMAILS (this assembly holds tests: run them with dotnet test)");
            return 2;
        }

        var seed = int.Parse(seedText, System.Globalization.CultureInfo.InvariantCulture);
        var count = int.Parse(countText, System.Globalization.CultureInfo.InvariantCulture);
        var requests = mode == "race" ? ContactStoreContractTests.RaceRequests(seed, count) : MultiProcessTests.Requests(seed, count);
        return await RunAsync(databaseFile, mode == "race" ? ContactStoreContractTests.RaceGuards : new IdentityReconciliationOptions(), requests);
    }

    private static async Task<int> RunAsync(string databaseFile, IdentityReconciliationOptions options, IEnumerable<(string? Email, string? Phone)> requests)
    {

        var store = new SqliteContactStore($"Data Source={databaseFile}");
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
