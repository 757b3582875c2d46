namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// The console sample: with no arguments it runs the product's worked example; the commands <c>identify</c>,
/// <c>show</c>, <c>erase</c>, <c>history</c>, <c>explain</c>, <c>changes</c>, <c>import</c> and <c>match</c> use the library against a SQLite file or an identity-match provider.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args) =>
        SampleCommandLine.RunAsync(args, CommandEnvironment.FromProcess());
}
