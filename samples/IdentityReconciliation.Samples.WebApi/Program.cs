// A Bitespeed-compatible identity reconciliation service: POST /identify, GET /healthz, the change feed (GET /changes,
// /contacts/{id}/history, /contacts/{id}/explain/{otherId}) and (when enabled) POST /erase over an SQLite file.
using IdentityReconciliation;
using IdentityReconciliation.Samples.WebApi;

// appsettings.json is read from the app's own folder, wherever the app is started from (see SampleHosting).
var builder = WebApplication.CreateBuilder(SampleHosting.Options(args));

// The store's options from IdentityReconciliation:Sqlite (BusyTimeout, Synchronous, MaxBatchSize, ...); the usual
// ConnectionStrings:Contacts, when set, names the database file.
var reconciliation = builder.Services.AddIdentityReconciliation().UseSqlite(builder.Configuration.GetSection("IdentityReconciliation:Sqlite"));
if (builder.Configuration.GetConnectionString("Contacts") is { Length: > 0 } contacts)
{
    reconciliation.UseSqlite(options => options.ConnectionString = contacts);
}
builder.Services.Configure<IdentityReconciliationOptions>(builder.Configuration.GetSection("IdentityReconciliation")); // the guards

builder.Services.ConfigureHttpJsonOptions(options => IdentifyEndpoint.ConfigureJson(options.SerializerOptions));
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ClientErrorHandler>(); // a client's mistake: its 4xx, a Debug log, no stack trace
builder.Services.AddHealthChecks().AddIdentityReconciliation();

// Deploying: an API key on POST /identify (Authentication:ApiKeys; off, with a warning, when none is configured) and
// ASP.NET Core's rate limiter (RateLimiting:PermitLimit per Window and client address; off unless configured).
builder.Services.AddApiKeyCheck(builder.Configuration.GetSection("Authentication"));
var rateLimited = builder.Services.AddSampleRateLimiting(builder.Configuration.GetSection("RateLimiting"));

// The change-feed relay (a BackgroundService that POSTs every new entry to ChangeFeedRelay:Endpoint), only with
// "ChangeFeedRelay:Enabled": true. See docs/change-feed.md.
builder.Services.AddChangeFeedRelayIfEnabled(builder.Configuration);

var app = builder.Build();

app.UseExceptionHandler();

if (rateLimited)
{
    app.UseRateLimiter();
}

var identify = app.MapPost("/identify", IdentifyEndpoint.HandleAsync).AddEndpointFilter<ApiKeyFilter>();
if (rateLimited)
{
    identify.RequireRateLimiting(SampleRateLimiting.Policy);
}

ChangeFeedEndpoints.Map(app);      // GET /changes, /contacts/{id}/history, /contacts/{id}/explain/{otherId}: API key as /identify
EraseEndpoint.MapIfEnabled(app); // POST /erase, only with "Erasure:Enabled": true (no authentication in this sample)
app.MapHealthChecks("/healthz");
app.WarnIfOpen();

app.Run();

/// <summary>The entry point, public so that integration tests can start the app with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
