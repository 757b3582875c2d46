using System.Globalization;
using System.Text.Json.Serialization;
using IdentityReconciliation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// The change feed, history and explain over HTTP, behind the same optional API key as <c>POST /identify</c>:
/// <list type="bullet">
/// <item><description><c>GET /changes?after=N&amp;max=M</c> (defaults 0 and 100) → <c>200 {"changes":[…],"lastSequence":N}</c>, where
/// <c>lastSequence</c> is the <c>after</c> of the next call (the last entry's sequence, or <c>after</c> when there is nothing new);
/// a negative or non-numeric <c>after</c>, or a <c>max</c> outside 1..<see cref="MaxPage"/> → <c>400 application/problem+json</c>
/// naming the parameter.</description></item>
/// <item><description><c>GET /contacts/{id}/history</c> → <c>200 {"changes":[…]}</c>, oldest first; <c>404</c> when <c>id</c> is
/// not a live contact.</description></item>
/// <item><description><c>GET /contacts/{id}/explain/{otherId}</c> → <c>200 {"primaryContactId":…,"steps":[…]}</c> with the
/// values that join each step; <c>404</c> when the two are not one person.</description></item>
/// </list>
/// A busy store → <c>503</c> with <c>Retry-After</c>, as for <c>/identify</c>.
/// </summary>
internal static class ChangeFeedEndpoints
{
    /// <summary>The most entries one <c>GET /changes</c> returns.</summary>
    public const int MaxPage = 1000;

    /// <summary>The page size when <c>max</c> is not given.</summary>
    public const int DefaultPage = 100;

    public static void Map(WebApplication app)
    {
        app.MapGet("/changes", GetChangesAsync).AddEndpointFilter<ApiKeyFilter>();
        app.MapGet("/contacts/{id:long}/history", GetHistoryAsync).AddEndpointFilter<ApiKeyFilter>();
        app.MapGet("/contacts/{id:long}/explain/{otherId:long}", ExplainAsync).AddEndpointFilter<ApiKeyFilter>();
    }

    public static async Task<Results<Ok<ChangesResponse>, ValidationProblem, ProblemHttpResult>> GetChangesAsync(
        HttpRequest request,
        IIdentityReconciler reconciler,
        CancellationToken cancellationToken)
    {
        // The query is read by hand, not bound by the framework, so that a bad value gets a problem naming the parameter.
        if (!TryReadQuery(request, "after", 0, out var after) || after < 0)
        {
            return IdentifyEndpoint.Problem("after", "after must be a whole number, 0 or more: the last sequence number already handled.");
        }

        if (!TryReadQuery(request, "max", DefaultPage, out var max) || max is < 1 or > MaxPage)
        {
            return IdentifyEndpoint.Problem("max", $"max must be a whole number from 1 to {MaxPage}.");
        }

        try
        {
            var changes = await reconciler.GetChangesAsync(after, (int)max, cancellationToken);
            return TypedResults.Ok(new ChangesResponse([.. changes.Select(ChangeView.Of)], changes.Count == 0 ? after : changes[^1].Sequence));
        }
        catch (ContactStoreBusyException ex)
        {
            return Busy(request, ex);
        }
    }

    public static async Task<Results<Ok<HistoryResponse>, ProblemHttpResult>> GetHistoryAsync(
        long id,
        HttpRequest request,
        IIdentityReconciler reconciler,
        CancellationToken cancellationToken)
    {
        try
        {
            var history = await reconciler.GetHistoryAsync(id, cancellationToken);

            // No entry: an unknown contact, or a live one whose entries retention pruned. A live contact explains itself.
            if (history.Count == 0 && await reconciler.ExplainAsync(id, id, cancellationToken) is null)
            {
                return NotFound("The contact does not exist.", $"No live contact has the id {id}.");
            }

            return TypedResults.Ok(new HistoryResponse([.. history.Select(ChangeView.Of)]));
        }
        catch (ContactStoreBusyException ex)
        {
            return Busy(request, ex);
        }
    }

    public static async Task<Results<Ok<ExplanationResponse>, ProblemHttpResult>> ExplainAsync(
        long id,
        long otherId,
        HttpRequest request,
        IIdentityReconciler reconciler,
        CancellationToken cancellationToken)
    {
        try
        {
            return await reconciler.ExplainAsync(id, otherId, cancellationToken) is { } explanation
                ? TypedResults.Ok(ExplanationResponse.Of(explanation))
                : NotFound("The contacts are not one person.", $"Contacts {id} and {otherId} are not both live contacts of one person.");
        }
        catch (ContactStoreBusyException ex)
        {
            return Busy(request, ex);
        }
    }

    /// <summary>Reads an optional query parameter given at most once as a whole number (an optional leading minus sign, digits).</summary>
    private static bool TryReadQuery(HttpRequest request, string name, long defaultValue, out long value)
    {
        var values = request.Query[name];
        if (values.Count == 0)
        {
            value = defaultValue;
            return true;
        }

        value = 0;
        return values.Count == 1 && long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    private static ProblemHttpResult Busy(HttpRequest request, ContactStoreBusyException exception)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(exception.RetryAfter.TotalSeconds));
        request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The contact store is busy.",
            detail: "Try again after the number of seconds in the Retry-After header.");
    }

    private static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);
}

/// <summary>The body of <c>GET /changes</c>.</summary>
/// <param name="Changes">The entries, in sequence order.</param>
/// <param name="LastSequence">The <c>after</c> to pass next: the last entry's sequence, or the <c>after</c> given when there was none.</param>
internal sealed record ChangesResponse(IReadOnlyList<ChangeView> Changes, long LastSequence);

/// <summary>The body of <c>GET /contacts/{id}/history</c>.</summary>
/// <param name="Changes">The person's entries, oldest first.</param>
internal sealed record HistoryResponse(IReadOnlyList<ChangeView> Changes);

/// <summary>A <see cref="ContactChange"/> with its kind as a name: <c>{"sequence":1,"occurredAt":"…","kind":"PrimaryCreated",…}</c>.</summary>
internal sealed record ChangeView(
    long Sequence,
    DateTimeOffset OccurredAt,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ContactChangeKind>))] ContactChangeKind Kind,
    long ContactId,
    long? PrimaryContactId,
    IReadOnlyList<long> RelatedContactIds)
{
    public static ChangeView Of(ContactChange change) =>
        new(change.Sequence, change.OccurredAt, change.Kind, change.ContactId, change.PrimaryContactId, change.RelatedContactIds);
}

/// <summary>The body of <c>GET /contacts/{id}/explain/{otherId}</c>: the path of contact ids and what joins each step.</summary>
internal sealed record ExplanationResponse(long PrimaryContactId, IReadOnlyList<ExplanationStepView> Steps)
{
    public static ExplanationResponse Of(ContactExplanation explanation) =>
        new(explanation.PrimaryContactId, [.. explanation.Steps.Select(ExplanationStepView.Of)]);
}

/// <summary>
/// One step: <c>{"from":1,"to":2,"join":"SharedEmail","email":"…","phoneNumber":null}</c>, with the values that join the
/// two contacts (the shared email or phone number, or both values of a merge link; none for a primary link).
/// </summary>
internal sealed record ExplanationStepView(
    long From,
    long To,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ContactJoinKind>))] ContactJoinKind Join,
    string? Email,
    string? PhoneNumber)
{
    public static ExplanationStepView Of(ContactExplanationStep step) => step.Join switch
    {
        ContactJoinKind.SharedEmail => new(step.From.Id, step.To.Id, step.Join, step.SharedValue, null),
        ContactJoinKind.SharedPhoneNumber => new(step.From.Id, step.To.Id, step.Join, null, step.SharedValue),
        ContactJoinKind.MergeLink => new(step.From.Id, step.To.Id, step.Join, step.Link?.Email, step.Link?.PhoneNumber),
        _ => new(step.From.Id, step.To.Id, step.Join, null, null),
    };
}
