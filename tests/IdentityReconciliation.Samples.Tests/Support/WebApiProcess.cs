using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>
/// The built web API sample run as a real process on real Kestrel (<c>dotnet path/to/IdentityReconciliation.Samples.WebApi.dll</c>),
/// from the web sample's own build folder, with a working directory and environment of the test's choosing. Everything
/// it writes to standard output and error is kept in <see cref="Output"/>.
/// </summary>
public sealed class WebApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WebApiProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    /// <summary>The folder the web sample was built to: it holds the app's own appsettings.json.</summary>
    public static string AppFolder { get; } = FindAppFolder();

    public Uri BaseAddress { get; }

    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string Output => string.Join("\n", _output);

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the app on a free loopback port and waits until <c>/healthz</c> answers.</summary>
    public static async Task<WebApiProcess> StartAsync(string workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}/");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppFolder, "IdentityReconciliation.Samples.WebApi.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseAddress.ToString().TrimEnd('/'));

        // Nothing of the test host's own hosting environment leaks in: the app decides its content root itself.
        foreach (var name in new[] { "ASPNETCORE_CONTENTROOT", "DOTNET_CONTENTROOT", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["NO_COLOR"] = "1";
        start.Environment["Logging__Console__ColorBehavior"] = "Disabled";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var app = new WebApiProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(deadline.Token);
                throw new InvalidOperationException($"The web API exited with code {process.ExitCode}:\n{app.Output}");
            }

            try
            {
                using var health = await app.Client.GetAsync(new Uri(baseAddress, "healthz"), deadline.Token);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return app;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    /// <summary>Runs the app until it exits by itself (a start-up failure), and returns its exit code.</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(string workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        try
        {
            await using var app = await StartAsync(workingDirectory, environment);
            throw new InvalidOperationException($"The web API started:\n{app.Output}");
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("The web API exited with code ", StringComparison.Ordinal))
        {
            var code = int.Parse(ex.Message["The web API exited with code ".Length..ex.Message.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            return (code, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Client.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>samples/IdentityReconciliation.Samples.WebApi/bin/{this test's configuration}/net10.0, found from the repository root.</summary>
    private static string FindAppFolder()
    {
        var configuration = typeof(WebApiProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "samples", "IdentityReconciliation.Samples.WebApi", "bin", configuration, "net10.0");
            if (File.Exists(Path.Combine(candidate, "IdentityReconciliation.Samples.WebApi.dll")))
            {
                return candidate;
            }
        }

        // Outside the repository layout: the copy next to the tests.
        return AppContext.BaseDirectory;
    }
}
