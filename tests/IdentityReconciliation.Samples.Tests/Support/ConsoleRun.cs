using IdentityReconciliation.Samples.Console;
using Microsoft.Extensions.Configuration;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>Runs the console sample's command line in-process and captures what it wrote.</summary>
public sealed record ConsoleRun(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    public static async Task<ConsoleRun> RunAsync(
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? settings = null,
        bool interactive = false,
        CancellationToken cancellationToken = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var exitCode = await SampleCommandLine.RunAsync([.. args], new CommandEnvironment(output, error, configuration, interactive), cancellationToken);
        return new ConsoleRun(exitCode, output.ToString(), error.ToString());
    }
}
