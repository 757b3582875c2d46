using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>The console sample's commands, run in-process against real SQLite files in temporary folders.</summary>
public sealed class ConsoleCommandTests : IDisposable
{
    private const string LastWorkedExampleResponse =
        """{"contact":{"primaryContactId":3,"emails":["george@hillvalley.edu","biffsucks@hillvalley.edu"],"phoneNumbers":["919191","717171"],"secondaryContactIds":[4]}}""";

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task NoArguments_RunsTheWorkedExampleOnANewTemporaryFile()
    {
        var run = await ConsoleRun.RunAsync([]);

        var databaseFile = run.OutputLines[0]["SQLite database: ".Length..];
        try
        {
            run.ExitCode.Should().Be(0);
            run.Error.Should().BeEmpty();
            run.OutputLines[0].Should().StartWith("SQLite database: ");
            Path.GetDirectoryName(databaseFile).Should().StartWith(Path.Combine(Path.GetTempPath(), "identity-reconciliation-sample"));
            File.Exists(databaseFile).Should().BeTrue();
            run.OutputLines.Should().HaveCount(1 + (8 * 3));
            run.OutputLines[1..4].Should().Equal(
                string.Empty,
                """POST /identify {"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}""",
                """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[]}}""");
            run.OutputLines[^2].Should().Be("""POST /identify {"email":"george@hillvalley.edu","phoneNumber":"717171"}""");
            run.OutputLines[^1].Should().Be(LastWorkedExampleResponse);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(databaseFile)!, recursive: true);
        }
    }

    [Fact]
    public async Task NoArguments_WithDb_UsesThatFile()
    {
        var run = await ConsoleRun.RunAsync(["--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.OutputLines[0].Should().Be($"SQLite database: {_database.FilePath}");
        run.OutputLines[^1].Should().Be(LastWorkedExampleResponse);
        SqliteRows.ReadAll(_database).Should().HaveCount(4);
    }

    [Fact]
    public async Task Identify_BlockedPhone_PrintsTheResponseAndTheSetAsideIdentifierOnStandardError()
    {
        var run = await ConsoleRun.RunAsync(["identify", "--email", "doc@hillvalley.edu", "--phone", "(000) 000-0000", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Be("""{"contact":{"primaryContactId":1,"emails":["doc@hillvalley.edu"],"phoneNumbers":[],"secondaryContactIds":[]}}""" + Environment.NewLine);
        run.Error.Should().Be("set aside: phoneNumber 0000000000 (a blocked placeholder value)" + Environment.NewLine);
    }

    [Fact]
    public async Task Identify_OnlyAPlaceholder_Exits1AndWritesNothing()
    {
        var run = await ConsoleRun.RunAsync(["identify", "--phone", "1111111", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().Be("error: phoneNumber is a placeholder value that is never used to identify a person." + Environment.NewLine);
        File.Exists(_database.FilePath).Should().BeFalse("the request is rejected before the database is opened");
    }

    [Fact]
    public async Task Identify_ValidRequest_PrintsTheResponseAndExits0()
    {
        var first = await ConsoleRun.RunAsync(["identify", "--email", "Doc@HillValley.edu", "--phone", "+1 (555) 010-1985", "--db", _database.FilePath]);
        var second = await ConsoleRun.RunAsync(["identify", "--email", "emmett@hillvalley.edu", "--phone", "+15550101985", "--db", _database.FilePath]);

        first.ExitCode.Should().Be(0);
        first.Output.Should().Be(
            """{"contact":{"primaryContactId":1,"emails":["doc@hillvalley.edu"],"phoneNumbers":["+15550101985"],"secondaryContactIds":[]}}""" + Environment.NewLine);
        second.ExitCode.Should().Be(0);
        second.OutputLines.Should().Equal(
            """{"contact":{"primaryContactId":1,"emails":["doc@hillvalley.edu","emmett@hillvalley.edu"],"phoneNumbers":["+15550101985"],"secondaryContactIds":[2]}}""");
        SqliteRows.ReadAll(_database).Should().HaveCount(2);
    }

    [Theory]
    [InlineData("--email", "lorraine.hillvalley.edu", "email must")]
    [InlineData("--phone", "12-ab-34", "phoneNumber must")]
    [InlineData("--email", "  ", "At least one of email or phoneNumber is required.")]
    public async Task Identify_InvalidValue_Exits1WithOneLineErrorAndCreatesNoFile(string option, string value, string message)
    {
        var run = await ConsoleRun.RunAsync(["identify", option, value, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: " + message).And.EndWith(Environment.NewLine);
        run.Error.TrimEnd().Should().NotContain("\n").And.NotContain("Parameter");
        File.Exists(_database.FilePath).Should().BeFalse("nothing is written for bad input");
    }

    [Theory]
    [InlineData("identify")]
    [InlineData("show")]
    public async Task Command_WithoutEmailOrPhone_Exits2WithUsageError(string command)
    {
        var run = await ConsoleRun.RunAsync([command, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(2);
        run.Error.Should().Contain("Give --email, --phone, or both.").And.Contain($"{command} --help");
        File.Exists(_database.FilePath).Should().BeFalse();
    }

    [Theory]
    [InlineData("identify", "--emial", "x@y.z")]
    [InlineData("frobnicate")]
    [InlineData("import")]
    [InlineData("import", "contacts.csv", "--chunk-size", "0")]
    [InlineData("import", "contacts.csv", "--chunk-size", "100001")]
    [InlineData("match", "telesign", "--phone", "+15555551212")]
    [InlineData("match", "nokia", "--phone", "+15555551212", "--first-name", "A", "--last-name", "B")]
    [InlineData("match", "telesign", "--phone", "+15555551212", "--first-name", "A", "--last-name", "B", "--dob", "29/02/1980")]
    public async Task CommandLine_Malformed_Exits2(params string[] args)
    {
        var run = await ConsoleRun.RunAsync(args);

        run.ExitCode.Should().Be(2);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: ").And.Contain("--help");
    }

    [Theory]
    [InlineData("identify")]
    [InlineData("show")]
    [InlineData("import")]
    [InlineData("match")]
    public async Task Help_OnEveryCommand_PrintsUsageAndExits0(string command)
    {
        var run = await ConsoleRun.RunAsync([command, "--help"]);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain("Usage:").And.Contain($" {command} ").And.Contain("Options:");
    }

    [Fact]
    public async Task Help_OnTheRootCommand_ListsTheCommands()
    {
        var run = await ConsoleRun.RunAsync(["--help"]);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain("identify").And.Contain("show").And.Contain("import <FILE.csv>").And.Contain("match <cm|telesign>");
    }

    [Fact]
    public async Task Show_KnownPhone_PrintsThePersonAndWritesNothing()
    {
        await ConsoleRun.RunAsync(["--db", _database.FilePath]);
        var before = SqliteRows.ReadAll(_database);

        var run = await ConsoleRun.RunAsync(["show", "--phone", "717171", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.OutputLines.Should().Equal(LastWorkedExampleResponse);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Show_IdentifiersOfTwoPersons_ShowsTheMergedViewWithoutMerging()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "george@hillvalley.edu", "--phone", "919191", "--db", _database.FilePath]);
        await ConsoleRun.RunAsync(["identify", "--email", "biffsucks@hillvalley.edu", "--phone", "717171", "--db", _database.FilePath]);
        var before = SqliteRows.ReadAll(_database);

        var run = await ConsoleRun.RunAsync(["show", "--email", "george@hillvalley.edu", "--phone", "717171", "--db", _database.FilePath]);

        run.OutputLines.Should().Equal(
            """{"contact":{"primaryContactId":1,"emails":["george@hillvalley.edu","biffsucks@hillvalley.edu"],"phoneNumbers":["919191","717171"],"secondaryContactIds":[2]}}""");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Show_NoMatch_PrintsNullContactAndExits3()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);

        var run = await ConsoleRun.RunAsync(["show", "--email", "nobody@hillvalley.edu", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(3);
        run.OutputLines.Should().Equal("""{"contact":null}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle();
    }

    [Fact]
    public async Task Show_MissingDatabaseFile_Exits1AndCreatesNoFile()
    {
        var run = await ConsoleRun.RunAsync(["show", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().Be($"error: no database file at {_database.FilePath}.{Environment.NewLine}");
        File.Exists(_database.FilePath).Should().BeFalse();
    }

    [Fact]
    public async Task Show_InvalidEmail_Exits1()
    {
        await ConsoleRun.RunAsync(["identify", "--email", "lorraine@hillvalley.edu", "--db", _database.FilePath]);

        var run = await ConsoleRun.RunAsync(["show", "--email", "lorraine", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().StartWith("error: email must");
    }

    [Fact]
    public async Task Identify_DatabaseInAMissingFolder_Exits1WithOneLineError()
    {
        var run = await ConsoleRun.RunAsync(["identify", "--email", "x@y.z", "--db", Path.Combine(_database.Folder, "missing", "x.db")]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().StartWith("error: the database could not be used: ");
        run.Error.TrimEnd().Should().NotContain("\n");
    }
}
