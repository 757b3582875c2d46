using System.Text.Json;
using IdentityReconciliation.Samples.Console;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// The console sample's <c>history</c>, <c>explain</c> and <c>changes</c> commands, in-process against real SQLite files.
/// The worked example makes: 1 lorraine/123456, 2 mcfly/123456 (secondary of 1), 3 george/919191, 4 biffsucks/717171,
/// then george + 717171 merges 4 into 3 without inserting a contact.
/// </summary>
public sealed class ConsoleChangeFeedTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private Task WorkedExampleAsync() => ConsoleRun.RunAsync(["--db", _database.FilePath]);

    /// <summary>(kind, contactId, primaryContactId, relatedContactIds) of each JSON line; checks the sequence numbers increase.</summary>
    internal static List<(string Kind, long ContactId, long? PrimaryContactId, long[] Related)> Entries(IEnumerable<string> lines)
    {
        var entries = new List<(string, long, long?, long[])>();
        var previous = 0L;
        foreach (var line in lines)
        {
            var entry = JsonDocument.Parse(line).RootElement;
            var sequence = entry.GetProperty("sequence").GetInt64();
            sequence.Should().BeGreaterThan(previous, "sequence numbers increase with commit order");
            previous = sequence;
            entry.GetProperty("occurredAt").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
            var primary = entry.GetProperty("primaryContactId");
            entries.Add((
                entry.GetProperty("kind").GetString()!,
                entry.GetProperty("contactId").GetInt64(),
                primary.ValueKind == JsonValueKind.Null ? null : primary.GetInt64(),
                [.. entry.GetProperty("relatedContactIds").EnumerateArray().Select(e => e.GetInt64())]));
        }

        return entries;
    }

    [Fact]
    public async Task Changes_AfterTheWorkedExample_PrintsEveryEntryInCommitOrderWithoutValues()
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["changes", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        Entries(run.OutputLines).Should().Equal(
            ("PrimaryCreated", 1L, (long?)1L, Array.Empty<long>()),
            ("SecondaryCreated", 2L, (long?)1L, Array.Empty<long>()),
            ("PrimaryCreated", 3L, (long?)3L, Array.Empty<long>()),
            ("PrimaryCreated", 4L, (long?)4L, Array.Empty<long>()),
            ("PersonsMerged", 4L, (long?)3L, Array.Empty<long>()));
        run.Output.Should().NotContain("@").And.NotContain("123456").And.NotContain("919191").And.NotContain("717171");
    }

    [Fact]
    public async Task Changes_AfterAndMax_PrintsThatPageOnly()
    {
        await WorkedExampleAsync();
        var all = await ConsoleRun.RunAsync(["changes", "--db", _database.FilePath]);
        var second = JsonDocument.Parse(all.OutputLines[1]).RootElement.GetProperty("sequence").GetInt64();

        var run = await ConsoleRun.RunAsync(["changes", "--after", $"{second}", "--max", "2", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.OutputLines.Should().Equal(all.OutputLines[2], all.OutputLines[3]);
    }

    [Fact]
    public async Task Changes_NothingNew_PrintsNothingAndExits0()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);
        var all = await ConsoleRun.RunAsync(["changes", "--db", _database.FilePath]);
        var last = JsonDocument.Parse(all.OutputLines[^1]).RootElement.GetProperty("sequence").GetInt64();

        var run = await ConsoleRun.RunAsync(["changes", "--after", $"{last}", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().BeEmpty();
    }

    [Theory]
    [InlineData("--after", "-1")]
    [InlineData("--after", "x")]
    [InlineData("--max", "0")]
    [InlineData("--max", "10001")]
    [InlineData("--max", "many")]
    [InlineData("--poll-interval", "0")]
    public async Task Changes_BadOption_Exits2AndPrintsNothing(string option, string value)
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);
        var before = SqliteRows.ReadAll(_database);

        var run = await ConsoleRun.RunAsync(["changes", option, value, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(2);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: ").And.Contain(option).And.Contain("changes --help");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("changes")]
    [InlineData("history", "1")]
    [InlineData("explain", "1", "2")]
    public async Task ReadCommand_MissingDatabaseFile_Exits1AndCreatesNoFile(params string[] args)
    {
        var run = await ConsoleRun.RunAsync([.. args, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().Be($"error: no database file at {_database.FilePath}.{Environment.NewLine}");
        File.Exists(_database.FilePath).Should().BeFalse();
    }

    [Fact]
    public async Task Changes_Follow_PrintsAnEntryCommittedAfterItStartedAndStopsCleanlyOnCancellation()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--phone", "123456", "--db", _database.FilePath]);
        var output = new StringWriter();
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var error = new StringWriter();
        var environment = new CommandEnvironment(synchronizedOutput, error, new ConfigurationBuilder().Build(), Interactive: false);
        using var cancellation = new CancellationTokenSource();

        var following = SampleCommandLine.RunAsync(
            ["changes", "--follow", "--poll-interval", "20", "--db", _database.FilePath], environment, cancellation.Token);
        await WaitForLinesAsync(1);
        var identify = await ConsoleRun.RunAsync(["identify", "--email", "mcfly@hillvalley.edu", "--phone", "123456", "--db", _database.FilePath]);
        identify.ExitCode.Should().Be(0, identify.Error);
        await WaitForLinesAsync(2);
        following.IsCompleted.Should().BeFalse("--follow keeps polling until it is cancelled");
        await cancellation.CancelAsync();

        var exitCode = await following.WaitAsync(TimeSpan.FromSeconds(30));

        exitCode.Should().Be(0, error.ToString());
        Entries(Lines()).Select(e => (e.Kind, e.ContactId)).Should().Equal(("PrimaryCreated", 1L), ("SecondaryCreated", 2L));
        error.ToString().Should().BeEmpty();

        string[] Lines()
        {
            lock (synchronizedOutput)
            {
                return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
        }

        async Task WaitForLinesAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Lines().Length < count)
            {
                following.IsCompleted.Should().BeFalse($"--follow stopped early: {error}");
                DateTime.UtcNow.Should().BeBefore(deadline, $"--follow printed {Lines().Length} of {count} lines");
                await Task.Delay(20);
            }
        }
    }

    [Fact]
    public async Task History_SecondaryOfAMergedPerson_PrintsThePersonsEntriesOldestFirst()
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["history", "4", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        Entries(run.OutputLines).Should().Equal(
            ("PrimaryCreated", 3L, (long?)3L, Array.Empty<long>()),
            ("PrimaryCreated", 4L, (long?)4L, Array.Empty<long>()),
            ("PersonsMerged", 4L, (long?)3L, Array.Empty<long>()));
    }

    [Theory]
    [InlineData("99")]
    [InlineData("0")]
    public async Task History_UnknownContact_Exits3AndPrintsNothing(string id)
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["history", id, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(3);
        run.Output.Should().BeEmpty();
        run.Error.Should().Be($"no live contact {id}.{Environment.NewLine}");
    }

    [Fact]
    public async Task History_ErasedPerson_Exits3()
    {
        await WorkedExampleAsync();
        (await ConsoleRun.RunAsync(["erase", "--person", "1", "--db", _database.FilePath])).ExitCode.Should().Be(0);

        var run = await ConsoleRun.RunAsync(["history", "2", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(3);
        var changes = await ConsoleRun.RunAsync(["changes", "--db", _database.FilePath]);
        Entries(changes.OutputLines).Where(e => e.Kind == "ValuesErased").Select(e => (e.ContactId, e.PrimaryContactId))
            .Should().Equal((1L, (long?)null), (2L, (long?)null));
    }

    [Fact]
    public async Task Explain_MergedByARequest_PrintsTheMergeLinkWithItsValues()
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["explain", "3", "4", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.OutputLines.Should().Equal(
            """{"explanation":{"primaryContactId":3,"steps":[{"from":3,"to":4,"join":"MergeLink","email":"george@hillvalley.edu","phoneNumber":"717171"}]}}""");
    }

    [Fact]
    public async Task Explain_SharedPhoneNumber_PrintsTheSharedValue()
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["explain", "2", "1", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.OutputLines.Should().Equal(
            """{"explanation":{"primaryContactId":1,"steps":[{"from":2,"to":1,"join":"SharedPhoneNumber","email":null,"phoneNumber":"123456"}]}}""");
    }

    [Theory]
    [InlineData("1", "3")]
    [InlineData("1", "99")]
    public async Task Explain_NotOnePerson_PrintsNullAndExits3(string id, string other)
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync(["explain", id, other, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(3);
        run.OutputLines.Should().Equal("""{"explanation":null}""");
    }

    [Theory]
    [InlineData("history")]
    [InlineData("history", "one")]
    [InlineData("explain", "1")]
    [InlineData("explain", "1", "x")]
    public async Task ReadCommand_MissingOrNonNumericId_Exits2(params string[] args)
    {
        await WorkedExampleAsync();

        var run = await ConsoleRun.RunAsync([.. args, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(2);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: ").And.Contain($"{args[0]} --help");
    }

    [Theory]
    [InlineData("history", "ID")]
    [InlineData("explain", "OTHER")]
    [InlineData("changes", "--follow")]
    public async Task ReadCommand_Help_PrintsUsage(string command, string expected)
    {
        var run = await ConsoleRun.RunAsync([command, "--help"]);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain(expected).And.Contain("--db");
    }
}
