using System.CommandLine;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>changes [--after N] [--max M] [--follow [--poll-interval MS]] [--db FILE]</c>: the change feed, one JSON object per
/// line in sequence order. Without <c>--follow</c>, at most <c>M</c> entries after sequence <c>N</c>; with it, every entry
/// after <c>N</c> and then each new one as it commits, until Ctrl+C (exit code 0). Nothing is written.
/// </summary>
internal static class ChangesCommand
{
    /// <summary>The most entries a call may ask for (<see cref="IIdentityReconciler.GetChangesAsync"/>).</summary>
    public const int MaxPage = 10_000;

    public static Command Create(CommandEnvironment environment)
    {
        var after = new Option<long>("--after")
        {
            Description = "The last sequence number already handled; entries after it are printed. Default: 0 (from the beginning).",
            HelpName = "N",
        };
        var max = new Option<int>("--max")
        {
            Description = $"The most entries to print (with --follow, the most read per poll), from 1 to {MaxPage}. Default: 100.",
            HelpName = "M",
            DefaultValueFactory = _ => 100,
        };
        var follow = new Option<bool>("--follow") { Description = "Keep polling and print new entries as they commit, until Ctrl+C." };
        var pollInterval = new Option<int>("--poll-interval")
        {
            Description = "With --follow, how long to wait when there is nothing new, in milliseconds. Default: 1000.",
            HelpName = "MS",
            DefaultValueFactory = _ => 1000,
        };
        SampleCommandLine.InRange(after, 0, long.MaxValue, "--after must be 0 or more.");
        SampleCommandLine.InRange(max, 1, MaxPage, $"--max must be between 1 and {MaxPage}.");
        SampleCommandLine.InRange(pollInterval, 1, int.MaxValue, "--poll-interval must be at least 1.");
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command(
            "changes",
            "Prints the change feed (contacts created, persons merged, contacts re-pointed, values erased, persons split), " +
            "one JSON object per line in commit order. Entries carry contact ids only.")
        {
            after,
            max,
            follow,
            pollInterval,
            db,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var file = parseResult.GetRequiredValue(db);
            if (!File.Exists(file))
            {
                // Opening the store would create the file: a read-only command must not.
                return await CommandErrors.FailAsync(environment, $"no database file at {Path.GetFullPath(file)}.");
            }

            await using var database = ContactDatabase.Open(file);
            var reconciler = database.Reconciler;
            var last = parseResult.GetValue(after);
            var pageSize = parseResult.GetValue(max);
            if (!parseResult.GetValue(follow))
            {
                await PrintAsync(environment, await reconciler.GetChangesAsync(last, pageSize, cancellationToken));
                return ExitCodes.Success;
            }

            var delay = TimeSpan.FromMilliseconds(parseResult.GetValue(pollInterval));
            try
            {
                while (true)
                {
                    IReadOnlyList<ContactChange> page;
                    try
                    {
                        page = await reconciler.GetChangesAsync(last, pageSize, cancellationToken);
                    }
                    catch (ContactStoreBusyException)
                    {
                        // A writer held the database past the busy timeout: nothing is lost, the next poll reads on from `last`.
                        await environment.Error.WriteLineAsync("the store is busy; polling again.");
                        page = [];
                    }

                    last = await PrintAsync(environment, page) ?? last;
                    if (page.Count < pageSize)
                    {
                        await Task.Delay(delay, cancellationToken);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C (System.CommandLine cancels the token) or the host stopping: a clean stop.
                return ExitCodes.Success;
            }
        }));
        return command;
    }

    /// <summary>Prints the entries and returns the last sequence printed, or <see langword="null"/> when there was none.</summary>
    private static async Task<long?> PrintAsync(CommandEnvironment environment, IReadOnlyList<ContactChange> changes)
    {
        foreach (var change in changes)
        {
            await environment.Output.WriteLineAsync(JsonSerializer.Serialize(change, SampleJsonContext.Relaxed.ContactChange));
        }

        await environment.Output.FlushAsync();
        return changes.Count == 0 ? null : changes[^1].Sequence;
    }
}
