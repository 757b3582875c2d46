using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The multi-process figure (<c>--processes 1,2,4</c>, PostgreSQL): several application instances sharing one database.
/// The parent copies the preloaded template once per figure and starts N child processes of this benchmark (the internal
/// <see cref="ChildFlag"/>); each builds its own store and callers, warms up, says <c>ready</c> on stdout and waits for
/// <c>go</c> on stdin, so that all start together; then each runs for the same time on its share of the requests (every
/// N-th, so that writes and merges never overlap) and writes its count and latencies to a JSON file. The parent adds up
/// the throughput and merges the latencies. Children that do not get ready or finish in time are killed.
/// </summary>
internal static class ProcessesBench
{
    public const string ChildFlag = "--processes-child";

    // The run's database reaches a child through its environment, not its command line (which other users can read).
    private const string DatabaseVariable = "IDR_BENCH_CHILD_DATABASE";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan FinishGrace = TimeSpan.FromMinutes(2);

    public static async Task<ProcessesRow> RunAsync(PostgresTarget target, string workload, long contacts, int processes, int callers, TimeSpan duration,
        string guards, string feed, int maxOperations, int seed, string work)
    {
        var (database, connectionString) = await target.CopyForProcessesAsync();
        var children = new List<Child>();
        try
        {
            for (var part = 0; part < processes; part++)
            {
                var result = Path.Combine(work, $"process-{part}.json");
                File.Delete(result);
                string[] arguments =
                [
                    ChildFlag, "--workload", workload, "--contacts", Invariant(contacts), "--callers", Invariant(callers),
                    "--seconds", Invariant(duration.TotalSeconds), "--part", Invariant(part), "--parts", Invariant(processes),
                    "--guards", guards, "--feed", feed, "--max-operations", Invariant(maxOperations), "--seed", Invariant(seed), "--result", result,
                ];
                children.Add(Child.Start(arguments, connectionString, result));
            }

            using (var ready = new CancellationTokenSource(ReadyTimeout))
            {
                foreach (var child in children)
                {
                    await child.WaitForReadyAsync(ready.Token);
                }
            }

            foreach (var child in children)
            {
                await child.Process.StandardInput.WriteLineAsync("go");
                await child.Process.StandardInput.FlushAsync();
            }

            using (var finished = new CancellationTokenSource(duration + FinishGrace))
            {
                foreach (var child in children)
                {
                    await child.WaitForExitAsync(finished.Token);
                }
            }

            var results = new List<ChildResult>();
            foreach (var child in children)
            {
                results.Add(JsonSerializer.Deserialize<ChildResult>(await File.ReadAllTextAsync(child.ResultPath))
                    ?? throw new InvalidOperationException($"Child process wrote no result to {child.ResultPath}."));
            }

            var latencies = results.SelectMany(r => r.LatencyTicks).ToArray();
            Array.Sort(latencies);
            var operations = results.Sum(r => r.Operations);
            var rate = results.Sum(r => r.Operations / r.ElapsedSeconds);
            return new ProcessesRow(
                target.Name, workload, contacts, processes, callers, operations, Math.Round(rate), Math.Round(rate / processes),
                Runner.Percentile(latencies, 0.50), Runner.Percentile(latencies, 0.99), latencies.Length == 0 ? 0 : Runner.Ms(latencies[^1]),
                operations == 0 ? 0 : results.Sum(r => r.BytesPerOperation * r.Operations) / operations,
                results.Max(r => r.PeakWorkingSetBytes) / (1024 * 1024));
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }

            await target.DropCopyAsync(database);
        }
    }

    /// <summary>The child's side: run one share of the workload against the database named in the environment.</summary>
    public static async Task<int> ChildAsync(Func<string, string?> arg, Func<string, IdentityReconciliationOptions> guardOptions)
    {
        var connectionString = Environment.GetEnvironmentVariable(DatabaseVariable)
            ?? throw new InvalidOperationException($"{ChildFlag} is internal: the parent passes the database in {DatabaseVariable}.");
        var part = int.Parse(arg("--part")!, CultureInfo.InvariantCulture);
        var parts = int.Parse(arg("--parts")!, CultureInfo.InvariantCulture);
        var all = Workloads.Generate(arg("--workload")!, long.Parse(arg("--contacts")!, CultureInfo.InvariantCulture),
            int.Parse(arg("--max-operations")!, CultureInfo.InvariantCulture), int.Parse(arg("--seed")!, CultureInfo.InvariantCulture));
        var mine = all.Where((_, index) => index % parts == part).ToArray();

        await using var store = PostgresTarget.CreateStore(connectionString, arg("--feed") == "on");
        var reconciler = new IdentityReconciler(store, guardOptions(arg("--guards")!));
        var warmup = await Runner.WarmUpAsync(reconciler, mine, int.Parse(arg("--callers")!, CultureInfo.InvariantCulture));
        Console.WriteLine("ready");

        // Anything but "go" (including the parent's end, which closes stdin) ends the child.
        if (await Console.In.ReadLineAsync() != "go")
        {
            return 1;
        }

        var duration = TimeSpan.FromSeconds(double.Parse(arg("--seconds")!, CultureInfo.InvariantCulture));
        var (measurement, latencies) = await Runner.RunRoundAsync(reconciler, mine, warmup, int.Parse(arg("--callers")!, CultureInfo.InvariantCulture), duration);
        var result = new ChildResult(measurement.Operations, measurement.Elapsed.TotalSeconds, measurement.BytesPerOperation, measurement.PeakWorkingSetBytes, latencies);
        await File.WriteAllTextAsync(arg("--result")!, JsonSerializer.Serialize(result));
        Console.WriteLine("done");
        return 0;
    }

    public static string Line(ProcessesRow r) =>
        $"{r.Workload,-12} {r.Processes} processes x {r.CallersPerProcess,2} callers: {r.OpsPerSecond,10:N0} ops/s in all ({r.OpsPerSecondPerProcess:N0} per process)  p50 {r.P50Ms,7:0.000} ms  p99 {r.P99Ms,7:0.000} ms  max {r.MaxMs,8:0.0} ms  {r.BytesPerOp,6:N0} B/op";

    public static string Markdown(IReadOnlyList<ProcessesRow> rows, string setup, TimeSpan duration)
    {
        var markdown = new StringBuilder();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"Several processes: N benchmark processes share one database (a fresh copy of the preloaded data per figure), start together and run for {duration.TotalSeconds:0.#} s, each with its own store and callers and every N-th request; ops/s is the total, latencies are merged across processes. Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores. {setup}.");
        markdown.AppendLine();
        markdown.AppendLine("| store | workload | contacts | processes | callers per process | ops/s (total) | ÷ 1 process | ops/s per process | p50 ms | p99 ms | max ms | B/op | peak WS MiB (largest process) |");
        markdown.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            var single = rows.FirstOrDefault(o => o.Processes == 1 && o.Workload == r.Workload && o.Contacts == r.Contacts && o.CallersPerProcess == r.CallersPerProcess);
            var scaling = single is null ? "" : (r.OpsPerSecond / single.OpsPerSecond).ToString("0.00", CultureInfo.InvariantCulture);
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {r.Store} | {r.Workload} | {r.Contacts:N0} | {r.Processes} | {r.CallersPerProcess} | {r.OpsPerSecond:N0} | {scaling} | {r.OpsPerSecondPerProcess:N0} | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {r.MaxMs:0.0} | {r.BytesPerOp:N0} | {r.PeakWorkingSetMiB:N0} |");
        }

        return markdown.ToString();
    }

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);

    private sealed record ChildResult(long Operations, double ElapsedSeconds, long BytesPerOperation, long PeakWorkingSetBytes, long[] LatencyTicks);

    /// <summary>One child process: started with its stdin and stdout redirected, killed (with its tree) when disposed unless it has exited.</summary>
    private sealed class Child : IDisposable
    {
        private readonly StringBuilder _errors = new();

        private Child(Process process, string resultPath)
        {
            Process = process;
            ResultPath = resultPath;
        }

        public Process Process { get; }

        public string ResultPath { get; }

        public static Child Start(string[] arguments, string connectionString, string resultPath)
        {
            // Under `dotnet run` this is the app host; under `dotnet X.dll` it is dotnet, which needs the assembly first.
            var host = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark's own executable is unknown.");
            var start = new ProcessStartInfo(host)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                start.ArgumentList.Add(typeof(ProcessesBench).Assembly.Location);
            }

            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment[DatabaseVariable] = connectionString;
            var process = new Process { StartInfo = start };
            var child = new Child(process, resultPath);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (child._errors)
                    {
                        child._errors.AppendLine(e.Data);
                    }
                }
            };
            process.Start();
            process.BeginErrorReadLine();
            return child;
        }

        public async Task WaitForReadyAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                string? line;
                try
                {
                    line = await Process.StandardOutput.ReadLineAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    throw Failure($"was not ready within {ReadyTimeout.TotalSeconds:0} s");
                }

                if (line is null)
                {
                    throw Failure("ended before it was ready");
                }

                if (line == "ready")
                {
                    return;
                }
            }
        }

        public async Task WaitForExitAsync(CancellationToken cancellationToken)
        {
            // Drain stdout ("done"), so that the child never blocks on a full pipe.
            var drain = Process.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await Process.WaitForExitAsync(cancellationToken);
                await drain;
            }
            catch (OperationCanceledException)
            {
                throw Failure("did not finish in time");
            }

            if (Process.ExitCode != 0)
            {
                throw Failure($"exited with code {Process.ExitCode}");
            }
        }

        public void Dispose()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                    Process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // It was never started or has just exited.
            }

            Process.Dispose();
            File.Delete(ResultPath);
        }

        private InvalidOperationException Failure(string what)
        {
            lock (_errors)
            {
                return new InvalidOperationException($"Benchmark child process {Process.Id} {what}.{Environment.NewLine}{_errors}");
            }
        }
    }
}

internal sealed record ProcessesRow(
    string Store, string Workload, long Contacts, int Processes, int CallersPerProcess, long Operations, double OpsPerSecond, double OpsPerSecondPerProcess,
    double P50Ms, double P99Ms, double MaxMs, long BytesPerOp, long PeakWorkingSetMiB);
