using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>The console sample's <c>erase</c> command, in-process against real SQLite files.</summary>
public sealed class ConsoleEraseTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Erase_EmailThatJoinedTwoPersons_PrintsTheSplitAndExits0()
    {
        await ConsoleRun.RunAsync(["--db", _database.FilePath]); // the worked example: george (3) absorbed biffsucks (4)

        var run = await ConsoleRun.RunAsync(["erase", "--email", " George@HillValley.edu ", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.OutputLines.Should().Equal(
            """{"erasedContactIds":[],"changedContactIds":[3,4],"persons":[{"primaryContactId":3,"emails":[],"phoneNumbers":["919191"],"secondaryContactIds":[]},{"primaryContactId":4,"emails":["biffsucks@hillvalley.edu"],"phoneNumbers":["717171"],"secondaryContactIds":[]}]}""");
        SqliteRows.ReadAll(_database).Should().NotContain(r => r.Email == "george@hillvalley.edu");
        SqliteRows.ReadLinks(_database).Should().BeEmpty("the link held the erased email");
    }

    [Fact]
    public async Task Erase_Person_DeletesEveryContactOfItAndExits0()
    {
        await ConsoleRun.RunAsync(["--db", _database.FilePath]);

        var run = await ConsoleRun.RunAsync(["erase", "--person", "2", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0, run.Error);
        run.OutputLines.Should().Equal("""{"erasedContactIds":[1,2],"changedContactIds":[],"persons":[]}""");
        SqliteRows.ReadAll(_database).Select(r => r.Id).Should().Equal(3, 4);
    }

    [Fact]
    public async Task Erase_NothingMatches_PrintsAnEmptyResultAndExits0()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);

        var run = await ConsoleRun.RunAsync(["erase", "--phone", "555", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.OutputLines.Should().Equal("""{"erasedContactIds":[],"changedContactIds":[],"persons":[]}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle();
    }

    [Theory]
    [InlineData("--person", "1", "--email", "a@x.io")]
    [InlineData("--db", "x.db")]
    [InlineData("--person", "one")]
    public async Task Erase_PersonAndValuesTogetherOrNeither_Exits2(params string[] args)
    {
        var run = await ConsoleRun.RunAsync(["erase", .. args]);

        run.ExitCode.Should().Be(2);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: ").And.Contain("erase --help");
    }

    [Fact]
    public async Task Erase_InvalidEmail_Exits1AndErasesNothing()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);
        var before = SqliteRows.ReadAll(_database);

        var run = await ConsoleRun.RunAsync(["erase", "--email", "lorraine.hillvalley.edu", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().StartWith("error: email must").And.NotContain("lorraine");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Erase_MissingDatabaseFile_Exits1AndCreatesNoFile()
    {
        var run = await ConsoleRun.RunAsync(["erase", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().Be($"error: no database file at {_database.FilePath}.{Environment.NewLine}");
        File.Exists(_database.FilePath).Should().BeFalse();
    }

    [Fact]
    public async Task Erase_Help_PrintsUsage()
    {
        var run = await ConsoleRun.RunAsync(["erase", "--help"]);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain("--email").And.Contain("--phone").And.Contain("--person");
    }
}
