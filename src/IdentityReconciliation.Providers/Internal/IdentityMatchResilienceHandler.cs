using Polly;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Runs each request through the provider's <see cref="ResiliencePipeline{T}"/>. An <see cref="HttpRequestMessage"/>
/// cannot be sent twice, so the content is buffered once and every attempt sends a fresh copy, authenticated afresh
/// (new Telesign date and nonce, current CM.com token).
/// </summary>
internal sealed class IdentityMatchResilienceHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly IRequestAuthenticator _authenticator;

    public IdentityMatchResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline, IRequestAuthenticator authenticator)
    {
        _pipeline = pipeline;
        _authenticator = authenticator;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var body = request.Content is null
            ? null
            : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        request.Options.TryGetValue(AttemptTracker.Key, out var tracker);

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static (ctx, state) => state.Handler.SendAttemptAsync(state.Request, state.Body, state.Tracker, ctx),
                context,
                (Handler: this, Request: request, Body: body, Tracker: tracker)).ConfigureAwait(false);

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    internal static HttpRequestMessage Copy(HttpRequestMessage original, byte[]? body)
    {
        var copy = new HttpRequestMessage(original.Method, original.RequestUri)
        {
            Version = original.Version,
            VersionPolicy = original.VersionPolicy,
        };

        foreach (var header in original.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in original.Options)
        {
            ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var header in original.Content!.Headers)
            {
                copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return copy;
    }

    private async ValueTask<Outcome<HttpResponseMessage>> SendAttemptAsync(
        HttpRequestMessage original, byte[]? body, AttemptTracker? tracker, ResilienceContext context)
    {
        var cancellationToken = context.CancellationToken;
        try
        {
            var attempt = Copy(original, body);
            await _authenticator.AuthenticateAsync(attempt, cancellationToken).ConfigureAwait(false);
            tracker?.OnAttempt();

            // The rate limit's interval runs from here: the last moment before the transport takes the request.
            if (context.Properties.TryGetValue(RequestSpacingStrategy.TurnKey, out var turn))
            {
                turn?.MarkStarted();
            }

            var response = await base.SendAsync(attempt, cancellationToken).ConfigureAwait(false);
            tracker?.OnResponse(response.StatusCode);
            return Outcome.FromResult(response);
        }
        catch (Exception exception)
        {
            return Outcome.FromException<HttpResponseMessage>(exception);
        }
    }
}
