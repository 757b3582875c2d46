using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>The product's worked example: lorraine and mcfly share a phone; george and biffsucks are merged by the last request.</summary>
internal static class WorkedExample
{
    private static readonly IdentifyRequest[] Requests =
    [
        new("lorraine@hillvalley.edu", "123456"),
        new("mcfly@hillvalley.edu", "123456"),
        new(null, "123456"),
        new("lorraine@hillvalley.edu", null),
        new("mcfly@hillvalley.edu", null),
        new("george@hillvalley.edu", "919191"),
        new("biffsucks@hillvalley.edu", "717171"),
        new("george@hillvalley.edu", "717171"),
    ];

    /// <summary>Runs the requests against <paramref name="databaseFile"/>, or a new file in the temporary folder.</summary>
    public static async Task<int> RunAsync(CommandEnvironment environment, string? databaseFile, CancellationToken cancellationToken)
    {
        if (databaseFile is null)
        {
            var folder = Path.Combine(Path.GetTempPath(), "identity-reconciliation-sample", Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(folder);
            databaseFile = Path.Combine(folder, "identity-reconciliation.db");
        }

        await using var database = ContactDatabase.Open(databaseFile);
        var output = environment.Output;
        await output.WriteLineAsync($"SQLite database: {database.FilePath}");

        foreach (var request in Requests)
        {
            var cluster = await database.Reconciler.IdentifyAsync(request, cancellationToken);
            await output.WriteLineAsync();
            await output.WriteLineAsync($"POST /identify {JsonSerializer.Serialize(request, SampleJsonContext.Relaxed.IdentifyRequest)}");
            await output.WriteLineAsync(JsonSerializer.Serialize(new IdentifyResponse(cluster), SampleJsonContext.Relaxed.IdentifyResponse));
        }

        return ExitCodes.Success;
    }
}
