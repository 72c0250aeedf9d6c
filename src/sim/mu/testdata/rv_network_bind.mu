require commands;
function: HANDLER (void; Event event)
{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("py\\.client@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("EVENT-NAME", "*", event.contents(), string[] {contact});
    event.reject();
}
commands.bind("default", "global", "EVENT-NAME", HANDLER, "python event handler");
true;
