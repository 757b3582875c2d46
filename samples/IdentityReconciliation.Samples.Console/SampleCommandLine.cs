using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace IdentityReconciliation.Samples.Console;

/// <summary>The command tree, built with System.CommandLine. Every command has <c>--help</c>.</summary>
internal static class SampleCommandLine
{
    /// <summary>The library's default database file, relative to the current directory.</summary>
    public const string DefaultDatabaseFile = "identity-reconciliation.db";

    /// <summary>Parses <paramref name="args"/> and runs the command.</summary>
    /// <returns>The exit code: see <see cref="ExitCodes"/>.</returns>
    public static async Task<int> RunAsync(string[] args, CommandEnvironment environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        var root = CreateRootCommand(environment);
        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            // System.CommandLine would exit with 1; the sample keeps 1 for bad input and uses 2 for usage errors.
            foreach (var error in parseResult.Errors)
            {
                await environment.Error.WriteLineAsync($"error: {error.Message}");
            }

            var commandPath = string.Join(' ', CommandPath(parseResult.CommandResult));
            await environment.Error.WriteLineAsync($"Run '{commandPath} --help' for usage.");
            return ExitCodes.Usage;
        }

        // Program.Main turns SIGINT and SIGTERM into the token; System.CommandLine's own handler (ProcessTerminationTimeout)
        // would race it on the signal thread and could end the process with 130 while a command was stopping cleanly.
        var invocation = new InvocationConfiguration { Output = environment.Output, Error = environment.Error, ProcessTerminationTimeout = null };
        return await parseResult.InvokeAsync(invocation, cancellationToken);
    }

    internal static RootCommand CreateRootCommand(CommandEnvironment environment)
    {
        var db = new Option<string?>("--db")
        {
            Description = "The SQLite file for the worked example. Default: a new file in the temporary folder.",
            HelpName = "FILE",
        };

        var root = new RootCommand(
            "Identity reconciliation sample. Without a command it runs the product's worked example on a new SQLite file " +
            "and prints each request and its JSON response.")
        {
            db,
            IdentifyCommand.Create(environment),
            ShowCommand.Create(environment),
            EraseCommand.Create(environment),
            HistoryCommand.Create(environment),
            ExplainCommand.Create(environment),
            ChangesCommand.Create(environment),
            ImportCommand.Create(environment),
            MatchCommand.Create(environment),
        };
        root.SetAction((parseResult, cancellationToken) =>
            CommandErrors.RunAsync(environment, cancellationToken, () => WorkedExample.RunAsync(environment, parseResult.GetValue(db), cancellationToken)));
        return root;
    }

    /// <summary>
    /// Adds a range check to a whole-number option: a value outside <paramref name="min"/>..<paramref name="max"/> is a
    /// usage error with <paramref name="message"/>; a value that does not parse keeps the parser's own error.
    /// </summary>
    internal static void InRange(Option option, long min, long max, string message) =>
        option.Validators.Add(result =>
        {
            // Validators run even when the value did not parse: reading it then would throw.
            if (result.Tokens is [var token]
                && long.TryParse(token.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                && (value < min || value > max))
            {
                result.AddError(message);
            }
        });

    /// <summary>The <c>--db FILE</c> option of the commands that use a contact database.</summary>
    internal static Option<string> DatabaseOption() => new("--db")
    {
        Description = "The SQLite database file; a relative path is from the current directory.",
        HelpName = "FILE",
        DefaultValueFactory = _ => DefaultDatabaseFile,
    };

    /// <summary>Adds a check that at least one of the options was given.</summary>
    internal static void RequireOneOf(Command command, Option first, Option second) =>
        command.Validators.Add(result =>
        {
            if (result.GetResult(first) is null && result.GetResult(second) is null)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"Give {first.Name}, {second.Name}, or both."));
            }
        });

    private static IEnumerable<string> CommandPath(CommandResult result)
    {
        var names = new Stack<string>();
        for (SymbolResult? current = result; current is not null; current = current.Parent)
        {
            if (current is CommandResult command)
            {
                names.Push(command.Command is RootCommand ? "IdentityReconciliation.Samples.Console" : command.Command.Name);
            }
        }

        return names;
    }
}
