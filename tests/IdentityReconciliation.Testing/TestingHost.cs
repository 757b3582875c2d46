using System.Diagnostics;
using System.Reflection;

namespace IdentityReconciliation.Testing;

/// <summary>
/// Starts <c>IdentityReconciliation.Testing.Host</c>, the child process of the multi-process tests, with its input and
/// output redirected. A test project that uses it imports <c>IdentityReconciliation.Testing.Host.targets</c>, which builds
/// the host first and records the path of its dll in the test assembly's metadata.
/// </summary>
public static class TestingHost
{
    /// <summary>The key of the test assembly's <see cref="AssemblyMetadataAttribute"/> that holds the host's dll path.</summary>
    public const string MetadataKey = "IdentityReconciliation.Testing.Host";

    /// <summary>The environment variable that gives a <c>postgres</c> child its connection string.</summary>
    public const string PostgreSqlConnectionVariable = "IDR_HAMMER_CONNECTION";

    private static readonly Lazy<string> HostDll = new(Locate);

    /// <summary>
    /// Starts <c>dotnet IdentityReconciliation.Testing.Host.dll STORE ARGUMENTS...</c> (see the host's Program for the
    /// commands), with <paramref name="environment"/> added to this process's environment.
    /// </summary>
    public static Process Start(string store, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        foreach (var argument in new[] { HostDll.Value, store }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the child process.");
    }

    /// <summary>What the child wrote to its error output when it has exited (a failed assertion's reason), else a placeholder.</summary>
    public static async Task<string> ReadErrorIfExitedAsync(Process child) =>
        child.HasExited ? await child.StandardError.ReadToEndAsync() : "the child process is still running";

    private static string Locate()
    {
        var recorded = AppDomain.CurrentDomain.GetAssemblies()
            .Where(assembly => !assembly.IsDynamic)
            .SelectMany(assembly => assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
            .FirstOrDefault(metadata => metadata.Key == MetadataKey)?.Value;
        if (recorded is null)
        {
            throw new InvalidOperationException(
                $"No test assembly records where {MetadataKey}.dll is: import tests/IdentityReconciliation.Testing.Host/IdentityReconciliation.Testing.Host.targets in the test project.");
        }

        return File.Exists(recorded)
            ? recorded
            : throw new FileNotFoundException($"{MetadataKey} was built to {recorded}, but the file is not there: build the test project again.", recorded);
    }
}
