using System.Net;

namespace IdentityReconciliation.Providers;

/// <summary>
/// The base of every exception that an identity-match provider client throws. It holds what every failure shares:
/// the provider, the HTTP status and provider status of the last answer, the provider's reference for a support
/// ticket, and how many requests were sent. Subtypes add only what differs.
/// </summary>
/// <remarks>
/// Messages never contain credentials, tokens or the query's personal details. Text that the provider sent
/// (<see cref="Errors"/>, and the part of <see cref="Exception.Message"/> quoted from it) is untrusted: the client
/// removes every configured secret and every personal field of the query from it, but it remains the provider's
/// words.
/// </remarks>
public abstract class IdentityMatchException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    protected IdentityMatchException()
        : base("The identity-match provider call failed.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    protected IdentityMatchException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    protected IdentityMatchException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/> with the details every failure shares.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="details">The provider's answer, as far as one arrived.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected IdentityMatchException(string? provider, string? message, IdentityMatchFailureDetails? details, Exception? innerException)
        : base(message, innerException)
    {
        Provider = provider;
        StatusCode = details?.StatusCode;
        ProviderStatus = details?.ProviderStatus;
        ReferenceId = details?.ReferenceId;
        Attempts = details?.Attempts ?? 0;
        Errors = details?.Errors ?? [];
    }

    /// <summary>The name of the provider that failed, e.g. <c>Telesign</c> or <c>CM.com</c>.</summary>
    public string? Provider { get; }

    /// <summary>The HTTP status of the last answer, or <see langword="null"/> when none arrived.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The provider's own status or error code of the last answer, e.g. Telesign <c>2806</c>, if any.</summary>
    public string? ProviderStatus { get; }

    /// <summary>
    /// The provider's reference for this call (Telesign <c>reference_id</c>, a CM.com request-id header), when the
    /// answer had one: quote it in a support ticket.
    /// </summary>
    public string? ReferenceId { get; }

    /// <summary>How many HTTP requests were sent for the call (0 when none was, e.g. an open circuit).</summary>
    public int Attempts { get; }

    /// <summary>
    /// The errors from the provider's answer, with secrets and the query's personal fields removed; empty when it gave
    /// none. Untrusted provider text.
    /// </summary>
    public IReadOnlyList<IdentityMatchProviderError> Errors { get; } = [];
}

/// <summary>What is known of a provider's answer when a call fails.</summary>
/// <param name="StatusCode">The HTTP status of the last answer, if one arrived.</param>
/// <param name="ProviderStatus">The provider's own status or error code, if any.</param>
/// <param name="ReferenceId">The provider's reference for the call, if any.</param>
/// <param name="Attempts">How many HTTP requests were sent.</param>
/// <param name="Errors">The provider's errors (secrets and personal fields removed), if any.</param>
public sealed record IdentityMatchFailureDetails(
    HttpStatusCode? StatusCode = null,
    string? ProviderStatus = null,
    string? ReferenceId = null,
    int Attempts = 0,
    IReadOnlyList<IdentityMatchProviderError>? Errors = null);
