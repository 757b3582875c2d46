using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation;

/// <summary>
/// The guards of <see cref="IdentityReconciler"/> against identity collapse: values that are never used to link
/// (placeholders such as <c>0000000000</c> or <c>test@test.com</c>), and how many distinct emails and phone numbers one
/// person may gather. Configure it with
/// <c>services.AddIdentityReconciliation(options =&gt; ...)</c>, <c>services.Configure&lt;IdentityReconciliationOptions&gt;(...)</c>
/// or configuration binding; it is validated when the host starts.
/// </summary>
/// <remarks>
/// <para>
/// <b>Set aside, then resolve.</b> A blocked identifier is set aside before matching. When applying a request would give a
/// person more distinct emails or phone numbers than its limit (a new identifier added, or two persons merged), the
/// request's lower-priority identifier (<see cref="IdentifierPriority"/>) is set aside and the request is resolved with the
/// other one, exactly as if it had been sent without it. The limits are checked inside the store's atomic unit, so
/// concurrent requests can never push a person past them. A request whose every identifier is blocked is rejected with
/// <see cref="InvalidIdentifyRequestException"/> and writes nothing.
/// </para>
/// <para>
/// Data stored before a limit was lowered is left as it is; a change that would leave such a person above a limit is
/// refused the same way (its lower-priority identifier is set aside), while read-only lookups still return it whole.
/// </para>
/// </remarks>
public sealed class IdentityReconciliationOptions
{
    /// <summary>The default of <see cref="MaxEmailsPerPerson"/>: 10.</summary>
    public const int DefaultMaxEmailsPerPerson = 10;

    /// <summary>The default of <see cref="MaxPhoneNumbersPerPerson"/>: 10.</summary>
    public const int DefaultMaxPhoneNumbersPerPerson = 10;

    /// <summary>The default of <see cref="IdentifyManyChunkSize"/>: 500.</summary>
    public const int DefaultIdentifyManyChunkSize = 500;

    /// <summary>The largest <see cref="IdentifyManyChunkSize"/> accepted: 100,000.</summary>
    public const int MaxIdentifyManyChunkSize = 100_000;

    /// <summary>The largest limit accepted for <see cref="MaxEmailsPerPerson"/> and <see cref="MaxPhoneNumbersPerPerson"/>.</summary>
    public const int MaxLimit = 1_000_000;

    /// <summary>
    /// Emails that are never used to link and never stored, in addition to the default blocklist. Each is normalised like a
    /// request's email (by the registered <see cref="IContactNormalizer"/>) before it is compared. Empty by default.
    /// </summary>
    public IList<string> BlockedEmails { get; } = new List<string>();

    /// <summary>
    /// Phone numbers that are never used to link and never stored, in addition to the default blocklist. Each is normalised
    /// like a request's phone number before it is compared. Empty by default.
    /// </summary>
    public IList<string> BlockedPhoneNumbers { get; } = new List<string>();

    /// <summary>
    /// Whether the built-in list of well-known placeholder values is blocked too: phone numbers made only of zeros, one
    /// digit repeated six or more times, the sequences <c>1234567890</c>, <c>123456789</c>, <c>12345678</c>,
    /// <c>0123456789</c>, <c>9876543210</c>, <c>987654321</c>, <c>0987654321</c>; emails whose local part says there is
    /// no email (<c>noemail@…</c>, <c>none@…</c>, <c>noreply@…</c>, <c>unknown@…</c>, …) and a few placeholder
    /// addresses such as <c>test@test.com</c>. Default: <see langword="true"/>.
    /// </summary>
    public bool UseDefaultBlocklist { get; set; } = true;

    /// <summary>
    /// The most distinct emails one person may have; <see langword="null"/> for no limit. Default:
    /// <see cref="DefaultMaxEmailsPerPerson"/>.
    /// </summary>
    [Range(1, MaxLimit)]
    public int? MaxEmailsPerPerson { get; set; } = DefaultMaxEmailsPerPerson;

    /// <summary>
    /// The most distinct phone numbers one person may have; <see langword="null"/> for no limit. Default:
    /// <see cref="DefaultMaxPhoneNumbersPerPerson"/>.
    /// </summary>
    [Range(1, MaxLimit)]
    public int? MaxPhoneNumbersPerPerson { get; set; } = DefaultMaxPhoneNumbersPerPerson;

    /// <summary>
    /// Which identifier of a request is kept when one must be set aside to respect a limit. Default:
    /// <see cref="IdentifierPriority.EmailFirst"/>.
    /// </summary>
    [EnumDataType(typeof(IdentifierPriority))]
    public IdentifierPriority IdentifierPriority { get; set; } = IdentifierPriority.EmailFirst;

    /// <summary>
    /// How many requests of <see cref="IIdentityReconciler.IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/>
    /// are handed to the store at once (<see cref="IContactStore.ReconcileManyAsync"/>), which a store may commit in one
    /// transaction; from 1 to <see cref="MaxIdentifyManyChunkSize"/>. Larger chunks mean fewer commits and longer transactions
    /// (locks held longer, more work redone after a failure). Default: <see cref="DefaultIdentifyManyChunkSize"/>.
    /// </summary>
    [Range(1, MaxIdentifyManyChunkSize)]
    public int IdentifyManyChunkSize { get; set; } = DefaultIdentifyManyChunkSize;

    /// <summary>
    /// Change-feed retention by age: entries that occurred longer ago than this are deleted by the pruning service that
    /// <c>AddIdentityReconciliation</c> registers, every <see cref="ChangeFeedPruneInterval"/>. <see langword="null"/> (the
    /// default) keeps every entry. The newest entry is always kept. A consumer that falls further behind misses entries:
    /// size it above the longest outage of the slowest consumer.
    /// </summary>
    public TimeSpan? ChangeFeedMaxAge { get; set; }

    /// <summary>
    /// Change-feed retention by count: only the newest this many entries are kept (see <see cref="ChangeFeedMaxAge"/>).
    /// <see langword="null"/> (the default) keeps every entry.
    /// </summary>
    [Range(1L, long.MaxValue)]
    public long? ChangeFeedMaxCount { get; set; }

    /// <summary>How often the pruning service applies the retention settings; from 1 second to 1 day. Default: 5 minutes.</summary>
    public TimeSpan ChangeFeedPruneInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Which identifier of a request wins when one must be set aside to respect a per-person limit.</summary>
public enum IdentifierPriority
{
    /// <summary>Keep the email, set the phone number aside. The default: an email is personal far more often than a phone number.</summary>
    EmailFirst = 0,

    /// <summary>Keep the phone number, set the email aside.</summary>
    PhoneNumberFirst = 1,
}

/// <summary>Validates <see cref="IdentityReconciliationOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class IdentityReconciliationOptionsValidator : IValidateOptions<IdentityReconciliationOptions>
{
    /// <summary>The data annotations, then a check that no blocked value is blank.</summary>
    public static ValidateOptionsResult ValidateAll(string? name, IdentityReconciliationOptions options)
    {
        var result = new IdentityReconciliationOptionsValidator().Validate(name, options);
        if (result.Failed)
        {
            return result;
        }

        // The messages name the setting and the position, never the value: blocked values may be personal data.
        var failures = new List<string>();
        if (options.ChangeFeedMaxAge is { } maxAge && maxAge <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(IdentityReconciliationOptions)}.{nameof(IdentityReconciliationOptions.ChangeFeedMaxAge)} must be positive, or null to keep every entry.");
        }

        if (options.ChangeFeedPruneInterval < TimeSpan.FromSeconds(1) || options.ChangeFeedPruneInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(IdentityReconciliationOptions)}.{nameof(IdentityReconciliationOptions.ChangeFeedPruneInterval)} must be between 1 second and 1 day.");
        }

        AddBlankFailures(failures, options.BlockedEmails, nameof(IdentityReconciliationOptions.BlockedEmails));
        AddBlankFailures(failures, options.BlockedPhoneNumbers, nameof(IdentityReconciliationOptions.BlockedPhoneNumbers));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void AddBlankFailures(List<string> failures, IList<string>? values, string setting)
    {
        if (values is null)
        {
            failures.Add($"{nameof(IdentityReconciliationOptions)}.{setting} must not be null.");
            return;
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(values[i]))
            {
                failures.Add($"{nameof(IdentityReconciliationOptions)}.{setting}[{i}] must not be empty or white space.");
            }
        }
    }
}

/// <summary>Runs <see cref="IdentityReconciliationOptionsValidator.ValidateAll"/> for the options system.</summary>
internal sealed class IdentityReconciliationOptionsFullValidator : IValidateOptions<IdentityReconciliationOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityReconciliationOptions options) => IdentityReconciliationOptionsValidator.ValidateAll(name, options);
}
