using Microsoft.Extensions.Configuration;

namespace IdentityReconciliation.Samples.Console;

/// <summary>What the commands talk to: the process's console and configuration, or a test's stand-ins.</summary>
/// <param name="Output">Where results go (standard output).</param>
/// <param name="Error">Where errors go (standard error).</param>
/// <param name="Configuration">appsettings.json and environment variables (<c>Telesign__ApiKey</c>, ...).</param>
/// <param name="Interactive">Whether a person watches the output, so that <c>import</c> may draw a progress bar.</param>
internal sealed record CommandEnvironment(TextWriter Output, TextWriter Error, IConfiguration Configuration, bool Interactive)
{
    /// <summary>
    /// The real console. Configuration: <c>appsettings.json</c> next to the executable, then one in the current
    /// directory, then environment variables (<c>Section__Key</c>), each overriding the one before.
    /// </summary>
    public static CommandEnvironment FromProcess()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables()
            .Build();
        var interactive = !System.Console.IsOutputRedirected && !System.Console.IsErrorRedirected;
        return new CommandEnvironment(System.Console.Out, System.Console.Error, configuration, interactive);
    }
}
