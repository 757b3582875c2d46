using System.Runtime.InteropServices;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// The console sample: with no arguments it runs the product's worked example; the commands <c>identify</c>,
/// <c>show</c>, <c>erase</c>, <c>history</c>, <c>explain</c>, <c>changes</c>, <c>import</c> and <c>match</c> use the library
/// against a SQLite file or an identity-match provider.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Ctrl+C (SIGINT) and SIGTERM cancel the command's token instead of killing the process, so that
        // `changes --follow` stops cleanly with exit code 0; another command stops with "cancelled." and exit code 130.
        // Without this, the runtime's default action ended the process at once (a test saw exit code 130 and no clean stop).
        using var cancellation = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        return await SampleCommandLine.RunAsync(args, CommandEnvironment.FromProcess(), cancellation.Token);

        // The first signal asks the command to stop; a second one, if the command has not, ends the process as usual.
        void Cancel(PosixSignalContext context)
        {
            if (!cancellation.IsCancellationRequested)
            {
                context.Cancel = true;
                cancellation.Cancel();
            }
        }
    }
}
