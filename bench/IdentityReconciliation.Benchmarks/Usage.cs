namespace IdentityReconciliation.Benchmarks;

/// <summary>The benchmark's command line: what <c>--help</c> prints, and the check that refuses an unknown option.</summary>
internal static class Usage
{
    /// <summary>Every workload <c>--workloads</c> accepts.</summary>
    public static readonly string[] Workloads = [.. Benchmarks.Workloads.All, HubBench.Workload, FromEmptyBench.Workload, BackfillBench.Workload];

    public static readonly string Text = $$"""
        IdentityReconciliation benchmark: every workload at every store size and caller count, with the bare-SQL floor
        measured in the same run; prints a table and writes it as Markdown and JSON (bench/results/ unless --out).

        Usage: dotnet run --project bench/IdentityReconciliation.Benchmarks -c Release -- [options]
        With no option: the full SQLite run (10k, 100k and 1M contacts; 1 and 16 callers; several minutes).

          --quick                  10k contacts, 1 s per figure (about a minute)
          --store sqlite|postgres  the store (postgres needs IDR_POSTGRES or --postgres)
          --postgres CONN          an Npgsql connection string of a user that may create databases
          --sizes N,N              store sizes in contacts (default 10000,100000,1000000)
          --callers N,N            concurrent callers (default 1,16)
          --workloads W,W          {{string.Join(", ", Workloads)}}
          --seconds S              seconds per figure (default 5)
          --synchronous full|normal  SQLite's PRAGMA synchronous for the library and the floor (default full)
          --guards on|off|both     the guards (default on)
          --feed on|off|both       the change feed (default on)
          --repeat N               measure each figure N times, alternating, and keep the best
          --paired-floors          each ratio against the floor measured right before and after it
          --backfill-rows N        rows of the back-fill workload (default 100000)
          --chunk N                the back-fill's requests per transaction
          --empty-persons N        persons written by from-empty (default 5000)
          --empty-reads N          read-only identifies after from-empty (default 10000)
          --hub-requests N         requests of the hub workload (default 10000)
          --hub-settings on,off    the hub workload's guard settings
          --processes N,N          run the workloads in that many processes sharing one PostgreSQL database
          --out DIR                where the result files go
          --overhead               the guards' own CPU per identify, no database
          --export N FILE          write a preloaded SQLite file of N contacts
          --help                   this text
        """;

    private static readonly HashSet<string> Flags = ["--quick", "--paired-floors", "--overhead", "--help", "-h"];

    private static readonly HashSet<string> WithValue =
    [
        "--store", "--postgres", "--sizes", "--callers", "--workloads", "--seconds", "--synchronous", "--guards", "--feed",
        "--repeat", "--backfill-rows", "--chunk", "--empty-persons", "--empty-reads", "--hub-requests", "--hub-settings",
        "--processes", "--out",
    ];

    /// <summary>What is wrong with <paramref name="args"/>, or <see langword="null"/> when every option is known and has its value.</summary>
    public static string? Check(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var values = Flags.Contains(arg) ? 0 : WithValue.Contains(arg) ? 1 : arg == "--export" ? 2 : -1;
            if (values < 0)
            {
                return $"Unknown option '{arg}'.";
            }

            for (var v = 1; v <= values; v++)
            {
                if (i + v >= args.Length || args[i + v].StartsWith("--", StringComparison.Ordinal))
                {
                    return $"Option '{arg}' needs {(values == 1 ? "a value" : $"{values} values")}.";
                }
            }

            if (arg == "--synchronous" && args[i + 1] is not ("full" or "normal"))
            {
                return $"Unknown --synchronous '{args[i + 1]}': use full or normal.";
            }

            i += values;
        }

        return null;
    }
}
