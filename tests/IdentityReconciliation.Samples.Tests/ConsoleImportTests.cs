using System.Diagnostics;
using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary><c>import FILE.csv</c>: every good row lands, bad rows are reported with their line and skipped.</summary>
public sealed class ConsoleImportTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Import_HeaderGoodAndBadRows_ImportsTheGoodRowsAndReportsTheBadOnes()
    {
        var csv = WriteCsv("""
            email,phoneNumber
            lorraine@hillvalley.edu,123456
            mcfly@hillvalley.edu,123456
            not-an-email,555

            george@hillvalley.edu,919191
            biffsucks@hillvalley.edu,717171
            george@hillvalley.edu,717171
            ,
            "doc@hillvalley.edu",""
            lorraine@hillvalley.edu,123456
            too,many,fields
            "unclosed@hillvalley.edu,1
            "quoted, with comma@hillvalley.edu",42
            """);

        var run = await ConsoleRun.RunAsync(["import", csv, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1, "some rows were rejected");
        run.Error.Should().Be($"error: 4 of 12 rows were rejected; the other rows were imported.{Environment.NewLine}");
        run.OutputLines.Should().Equal(
            $"Imported {csv} into {_database.FilePath}",
            "Rows:            12",
            "New primaries:   5",
            "New secondaries: 1",
            "Merges:          1",
            "Unchanged:       1",
            "Set aside:       0",
            "Rejected:        4",
            "  line 4: email must contain exactly one '@' with a non-empty local part and domain.",
            "  line 9: At least one of email or phoneNumber is required.",
            "  line 12: expected 2 fields (email,phoneNumber) but found 3.",
            "  line 13: a quoted field is not closed on its line.");

        var rows = SqliteRows.ReadAll(_database);
        rows.Select(r => (r.Email, r.PhoneNumber)).Should().Equal(
            ("lorraine@hillvalley.edu", "123456"),
            ("mcfly@hillvalley.edu", "123456"),
            ("george@hillvalley.edu", "919191"),
            ("biffsucks@hillvalley.edu", "717171"),
            ("doc@hillvalley.edu", null),
            ("quoted, with comma@hillvalley.edu", "42"));
        GraphInvariants.AssertHold(rows, rows.Select(r => (r.Email, r.PhoneNumber)).Append(("george@hillvalley.edu", "717171")));
    }

    [Fact]
    public async Task Import_NoHeader_EveryRowLandsAndExits0()
    {
        var lines = Enumerable.Range(0, 300).Select(i => $"person{i % 120}@hillvalley.edu,{1000 + (i % 70)}").ToList();
        var csv = WriteCsv(string.Join('\n', lines));

        var run = await ConsoleRun.RunAsync(["import", csv, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.Error.Should().BeEmpty();
        run.OutputLines.Should().Contain("Rows:            300").And.Contain("Rejected:        0");
        var requests = lines.Select(l => l.Split(',')).Select(f => ((string?)f[0], (string?)f[1])).ToList();
        GraphInvariants.AssertHold(SqliteRows.ReadAll(_database), requests, new IdentityReconciliationOptions()); // 120 emails on 70 phones reach the default limits
    }

    [Fact]
    public async Task Import_Counts_AddUpToTheRowsAndMatchTheDatabase()
    {
        var csv = WriteCsv("""
            a@x.io,1
            b@x.io,2
            a@x.io,2
            c@x.io,1
            c@x.io,
            ,3
            """);

        var run = await ConsoleRun.RunAsync(["import", csv, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(0);
        run.OutputLines[1..8].Should().Equal(
            "Rows:            6",
            "New primaries:   3",
            "New secondaries: 1",
            "Merges:          1",
            "Unchanged:       1",
            "Set aside:       0",
            "Rejected:        0");
        var rows = SqliteRows.ReadAll(_database);
        rows.Should().HaveCount(4, "3 primaries and 1 secondary were inserted; the merge and the unchanged row insert nothing");
        rows.Count(r => r.LinkPrecedence == LinkPrecedence.Primary).Should().Be(2, "a's and b's persons were merged");
    }

    [Fact]
    public async Task Import_PlaceholdersAndAHubPhone_CountsTheSetAsideIdentifiersByReason()
    {
        // Twelve buyers on one till phone: the first ten fill the person up to the default email limit, the last two become
        // persons of their own. One row has a placeholder phone, one a placeholder email, one nothing but placeholders.
        var buyers = Enumerable.Range(0, 12).Select(i => $"buyer{i}@hillvalley.edu,555-0100");
        var csv = WriteCsv(string.Join('\n', buyers.Concat(["doc@hillvalley.edu,000-000-0000", "noemail@noemail.com,5550199", "test@test.com,0000000000"])));

        var run = await ConsoleRun.RunAsync(["import", csv, "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1, "the all-placeholder row is rejected");
        run.OutputLines[1..].Should().Equal(
            "Rows:            15",
            "New primaries:   5",
            "New secondaries: 9",
            "Merges:          0",
            "Unchanged:       0",
            "Set aside:       4 (2 blocked, 2 email limit)",
            "Rejected:        1",
            "  line 15: email and phoneNumber are placeholder values that are never used to identify a person; send a real email or phone number.");
        var rows = SqliteRows.ReadAll(_database);
        rows.Count(r => r.PhoneNumber == "5550100").Should().Be(IdentityReconciliationOptions.DefaultMaxEmailsPerPerson);
        rows.Should().NotContain(r => r.PhoneNumber == "0000000000" || r.Email == "noemail@noemail.com");
    }

    [Fact]
    public async Task Import_Interactive_DrawsAProgressBarAndTheSummary()
    {
        var csv = WriteCsv("email,phoneNumber\na@x.io,1\nb@x.io,2\n");

        var run = await ConsoleRun.RunAsync(["import", csv, "--db", _database.FilePath], interactive: true);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain(Path.GetFileName(csv)).And.Contain("100%");
        run.Output.Should().Contain("Rows:            2").And.Contain("New primaries:   2");
    }

    [Fact]
    public async Task Import_MissingFile_Exits1AndCreatesNoDatabase()
    {
        var run = await ConsoleRun.RunAsync(["import", Path.Combine(_database.Folder, "missing.csv"), "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1);
        run.Error.Should().StartWith("error: ").And.Contain("missing.csv");
        File.Exists(_database.FilePath).Should().BeFalse();
    }

    [Fact]
    public async Task Import_ManyChunksWithBadRows_GivesTheSameGraphAsOneByOne()
    {
        // Many chunks of 97 rows, over few values so that rows match and merge, with unreadable and invalid rows spread
        // through the file (some at a chunk's edge).
        var random = new Random(7);
        var lines = new List<string> { "email,phoneNumber" };
        for (var i = 0; i < 1_600; i++)
        {
            lines.Add(random.Next(40) switch
            {
                0 => "not-an-email,1",
                1 => "too,many,fields",
                2 => ",",
                _ => $"{(random.Next(6) == 0 ? "" : $"p{random.Next(300)}@x.io")},{(random.Next(6) == 0 ? "" : (5000 + random.Next(300)).ToString(System.Globalization.CultureInfo.InvariantCulture))}",
            });
        }

        var csv = WriteCsv(string.Join('\n', lines));

        var run = await ConsoleRun.RunAsync(["import", csv, "--chunk-size", "97", "--db", _database.FilePath]);

        run.ExitCode.Should().Be(1, "some rows were rejected");
        using var reference = new TempDatabase();
        var store = new Sqlite.SqliteContactStore(reference.ConnectionString);
        await using (store)
        {
            var reconciler = new IdentityReconciler(store);
            var rejected = new List<int>();
            for (var line = 2; line <= lines.Count; line++)
            {
                var fields = lines[line - 1].Split(',');
                try
                {
                    if (fields.Length != 2)
                    {
                        throw new InvalidIdentifyRequestException("unreadable", "request");
                    }

                    await reconciler.IdentifyAsync(new IdentifyRequest(fields[0], fields[1]));
                }
                catch (InvalidIdentifyRequestException)
                {
                    rejected.Add(line);
                }
            }

            run.OutputLines.Should().Contain($"Rejected:        {rejected.Count}");
            run.OutputLines.Where(l => l.StartsWith("  line ", StringComparison.Ordinal))
                .Select(l => int.Parse(l[7..l.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))
                .Should().Equal(rejected, "bad rows are reported in file order");
        }

        // Timestamps differ (the system clock); everything else is the same: ids, values, links and precedence.
        SqliteRows.ReadAll(_database).Select(r => (r.Id, r.Email, r.PhoneNumber, r.LinkedId, r.LinkPrecedence))
            .Should().Equal(SqliteRows.ReadAll(reference).Select(r => (r.Id, r.Email, r.PhoneNumber, r.LinkedId, r.LinkPrecedence)));
    }

    [Fact]
    public async Task Import_FromAPipe_LandsEachChunkBeforeThePipeEnds()
    {
        // A pipe (what `import <(zcat orders.csv.gz)` reads) has no length and ends only when its writer closes it. The
        // import reads it as it goes: the first chunk lands while the writer still holds the pipe open. An import that
        // read the whole file before the first row would land nothing until then.
        var pipe = await CreatePipeAsync();
        const int chunk = 100;
        var import = Task.Run(() => ConsoleRun.RunAsync(["import", pipe, "--chunk-size", "100", "--db", _database.FilePath]));

        await using (var writer = await OpenPipeForWritingAsync(pipe))
        {
            await writer.WriteLineAsync("email,phoneNumber");
            for (var i = 0; i < chunk; i++)
            {
                await writer.WriteLineAsync($"p{i}@x.io,{100_000 + i}");
            }

            await writer.FlushAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (ContactsWhileTheImportStarts(_database) < chunk && !import.IsCompleted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            ContactsIn(_database).Should().Be(chunk, "the first chunk lands before the pipe ends");
            import.IsCompleted.Should().BeFalse("the import waits for the rest of the pipe");
            await writer.WriteLineAsync("last@x.io,1");
        }

        var run = await import.WaitAsync(TimeSpan.FromSeconds(60));
        run.ExitCode.Should().Be(0);
        run.OutputLines[1..].Should().Equal(
            $"Rows:            {chunk + 1}",
            $"New primaries:   {chunk + 1}",
            "New secondaries: 0",
            "Merges:          0",
            "Unchanged:       0",
            "Set aside:       0",
            "Rejected:        0");
        ContactsIn(_database).Should().Be(chunk + 1);
    }

    [Fact]
    public async Task Import_FromAPipeInteractive_DrawsABarWithoutALengthAndEndsAt100Percent()
    {
        var pipe = await CreatePipeAsync();
        var import = Task.Run(() => ConsoleRun.RunAsync(["import", pipe, "--db", _database.FilePath], interactive: true));
        await using (var writer = await OpenPipeForWritingAsync(pipe))
        {
            await writer.WriteAsync("email,phoneNumber\na@x.io,1\nb@x.io,2\na@x.io,2\n");
        }

        var run = await import.WaitAsync(TimeSpan.FromSeconds(60));
        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain("orders.csv").And.Contain("100%");
        run.Output.Should().Contain("Rows:            3").And.Contain("Merges:          1");
    }

    [Fact]
    public async Task Import_CancelledWhileThePipeGivesNothing_StopsWithoutWaitingForIt()
    {
        // Ctrl+C while the command that feeds the pipe is still working (or a writer outside the process group, which
        // the shell's Ctrl+C does not stop): a read from a pipe cannot be cancelled, so the import must stop waiting for it.
        var pipe = await CreatePipeAsync();
        using var cancellation = new CancellationTokenSource();
        var import = Task.Run(() => ConsoleRun.RunAsync(["import", pipe, "--chunk-size", "1", "--db", _database.FilePath], cancellationToken: cancellation.Token));
        await using var writer = await OpenPipeForWritingAsync(pipe);
        await writer.WriteAsync("email,phoneNumber\na@x.io,1\n");
        await writer.FlushAsync();

        // The first row is in the database (a chunk of one): the import now waits for the next line of the pipe.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ContactsWhileTheImportStarts(_database) == 0)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the import applies the first row once it has read it");
            import.IsCompleted.Should().BeFalse("the pipe is still open");
            await Task.Delay(20);
        }

        await Task.Delay(100);
        await cancellation.CancelAsync();
        var run = await import.WaitAsync(TimeSpan.FromSeconds(30)); // the writer stays open until the test ends

        run.ExitCode.Should().Be(130, run.Error);
        run.Error.Should().Contain("cancelled.");
    }

    private async Task<string> CreatePipeAsync()
    {
        var pipe = Path.Combine(_database.Folder, "orders.csv");
        using var mkfifo = Process.Start("mkfifo", [pipe]);
        await mkfifo.WaitForExitAsync();
        mkfifo.ExitCode.Should().Be(0);
        return pipe;
    }

    /// <summary>Opening a pipe for writing waits for its reader (the import): bounded, so a failed import fails the test.</summary>
    private static async Task<StreamWriter> OpenPipeForWritingAsync(string pipe) =>
        new(await Task.Run(() => new FileStream(pipe, FileMode.Open, FileAccess.Write)).WaitAsync(TimeSpan.FromSeconds(30)));

    private static int ContactsIn(TempDatabase database) => File.Exists(database.FilePath) ? SqliteRows.ReadAll(database).Count : 0;

    /// <summary>The contacts so far, or 0 while the import is still creating the file and its schema (a lock held then).</summary>
    private static int ContactsWhileTheImportStarts(TempDatabase database)
    {
        try
        {
            return ContactsIn(database);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0;
        }
    }

    private string WriteCsv(string text)
    {
        var path = Path.Combine(_database.Folder, "contacts.csv");
        File.WriteAllText(path, text);
        return path;
    }
}
