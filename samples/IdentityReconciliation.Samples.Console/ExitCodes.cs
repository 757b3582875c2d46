namespace IdentityReconciliation.Samples.Console;

/// <summary>The process exit codes of the sample.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>Bad input: an invalid email or phone number, an unreadable file, rejected CSV rows, missing settings, a provider error.</summary>
    public const int BadInput = 1;

    /// <summary>The command line itself is wrong: an unknown command or option, a missing required option.</summary>
    public const int Usage = 2;

    /// <summary><c>show</c> found no contact for the identifiers; <c>history</c> found no live contact with the id; <c>explain</c>: the two contacts are not one person.</summary>
    public const int NotFound = 3;

    /// <summary>The command was cancelled (Ctrl+C, SIGTERM) before it finished; <c>changes --follow</c> exits with 0 instead.</summary>
    public const int Cancelled = 130;
}
