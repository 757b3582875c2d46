using IdentityReconciliation.Providers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// Turns the expected failures of a command into a one-line error on standard error and exit code 1 (a cancelled command:
/// <c>cancelled.</c> and exit code 130).
/// </summary>
internal static class CommandErrors
{
    public static async Task<int> RunAsync(CommandEnvironment environment, CancellationToken cancellationToken, Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C or SIGTERM (see Program): a one-line note, not a stack trace.
            await environment.Error.WriteLineAsync("cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (InvalidIdentifyRequestException ex)
        {
            return await FailAsync(environment, WithoutParameterName(ex));
        }
        catch (SqliteException ex)
        {
            return await FailAsync(environment, $"the database could not be used: {ex.Message}");
        }
        catch (OptionsValidationException ex)
        {
            return await FailAsync(environment, $"invalid settings: {string.Join(" ", ex.Failures)}");
        }
        catch (IdentityMatchException ex)
        {
            return await FailAsync(environment, $"{ex.GetType().Name}: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            return await FailAsync(environment, WithoutParameterName(ex));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return await FailAsync(environment, ex.Message);
        }
    }

    public static async Task<int> FailAsync(CommandEnvironment environment, string message)
    {
        await environment.Error.WriteLineAsync("error: " + OneLine(message));
        return ExitCodes.BadInput;
    }

    /// <summary>The message of an <see cref="ArgumentException"/> without the " (Parameter 'x')" that .NET appends.</summary>
    public static string WithoutParameterName(ArgumentException exception)
    {
        var message = exception.Message;
        var suffix = $" (Parameter '{exception.ParamName}')";
        return exception.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
