using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Diagnostics;

// The guards' events. Like every event of this package they name the field and contact identifiers, never a value.
internal static partial class Log
{
    [LoggerMessage(30, LogLevel.Debug, "Set aside the {Identifier} of an identify request: it is a blocked value")]
    public static partial void IdentifierBlocked(ILogger logger, string identifier);

    [LoggerMessage(31, LogLevel.Information, "Set aside the {Identifier} of an identify request: person {PrimaryContactId} would exceed its {Limit} limit")]
    public static partial void IdentifierOverLimit(ILogger logger, string identifier, long? primaryContactId, string limit);
}
