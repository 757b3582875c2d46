using System.Diagnostics;
using System.Text.RegularExpressions;

namespace IdentityReconciliation.Benchmarks.Tests;

/// <summary>
/// The benchmark's command line: an option it does not know, or one without its value, stops it before anything is
/// measured (a mistyped option once started a ten-minute run of the defaults); <c>--help</c> lists what it accepts.
/// </summary>
public sealed partial class UsageTests
{
    [Theory]
    [InlineData()]
    [InlineData("--quick")]
    [InlineData("--sizes", "10000,1000000", "--callers", "16", "--workloads", "merge-heavy", "--seconds", "5", "--out", "/tmp/x")]
    [InlineData("--synchronous", "normal", "--guards", "off", "--feed", "on")]
    [InlineData("--sizes", "10000", "--workloads", "backfill", "--backfill-rows", "1000000", "--chunk", "500")]
    [InlineData("--export", "1000", "/tmp/contacts.db")]
    public void Check_KnownOptionsWithTheirValues_FindsNothingWrong(params string[] args) =>
        Usage.Check(args).Should().BeNull();

    [Theory]
    [InlineData("Unknown option '--bogus'.", "--bogus")]
    [InlineData("Unknown option 'merge-heavy'.", "--quick", "merge-heavy")]
    [InlineData("Option '--sizes' needs a value.", "--sizes")]
    [InlineData("Option '--sizes' needs a value.", "--sizes", "--quick")]
    [InlineData("Option '--export' needs 2 values.", "--export", "10")]
    [InlineData("Unknown --synchronous 'off': use full or normal.", "--synchronous", "off")]
    public void Check_AMistake_SaysWhich(string expected, params string[] args) =>
        Usage.Check(args).Should().Be(expected);

    [Fact]
    public void HelpText_EveryOptionItLists_IsKnownToTheCheck()
    {
        var listed = OptionInHelp().Matches(Usage.Text).Select(m => m.Groups[1].Value).ToHashSet();

        listed.Should().NotBeEmpty();
        foreach (var option in listed)
        {
            // Alone, a flag passes and an option that takes a value lacks it; only an option the check does not know is "unknown".
            Usage.Check([option]).Should().NotBe($"Unknown option '{option}'.", $"{option} is in --help");
        }

        // Every workload --workloads accepts is named in the help text.
        foreach (var workload in Usage.Workloads)
        {
            Usage.Text.Should().Contain(workload);
        }
    }

    [Theory]
    [InlineData(2, "--bogus")]
    [InlineData(2, "--sizes")]
    [InlineData(0, "--help")]
    public async Task Benchmark_Process_ExitsWithTheCodeBeforeMeasuringAnything(int exitCode, string arg)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "IdentityReconciliation.Benchmarks.dll");
        var output = Path.Combine(Path.GetTempPath(), "idr-bench-usage-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("dotnet", [dll, arg, "--out", output]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        process.ExitCode.Should().Be(exitCode, await stderr);
        Directory.Exists(output).Should().BeFalse("nothing was measured, so nothing was written");
        if (exitCode == 0)
        {
            (await stdout).Should().Contain("--workloads").And.Contain("--help");
        }
        else
        {
            (await stderr).Should().Contain(arg).And.Contain("--help");
        }
    }

    [GeneratedRegex(@"^\s+(--[a-z-]+)", RegexOptions.Multiline)]
    private static partial Regex OptionInHelp();
}
