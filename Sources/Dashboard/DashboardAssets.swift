import Crypto
import FoundationEssentials

/// The page's style sheet and script, shipped inside the binary and inlined in the page (one request, nothing from
/// elsewhere), and the Content-Security-Policy that allows exactly these two by their SHA-256 and nothing else.
struct DashboardAssets: Sendable {
    let css: String
    let script: String
    let contentSecurityPolicy: String

    init(css: String = DashboardAssets.styleSheet, script: String = DashboardAssets.pageScript) {
        self.css = css
        self.script = script
        func hash(_ text: String) -> String { "'sha256-" + Data(SHA256.hash(data: Array(text.utf8))).base64EncodedString() + "'" }
        contentSecurityPolicy = "default-src 'none'; script-src \(hash(script)); style-src \(hash(css)); img-src data:; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    /// Readable at phone width (tables scroll sideways inside their own box), dark mode from the system, and
    /// meaning never carried by colour alone: charts write their numbers, flagged rows say "(differs)".
    static let styleSheet = """
        :root{color-scheme:light dark;--ink:#1b1f24;--paper:#fff;--muted:#57606a;--line:#d0d7de;--accent:#0b5cad;--flag:#fff3cd}
        @media (prefers-color-scheme:dark){:root{--ink:#e6edf3;--paper:#0d1117;--muted:#9198a1;--line:#3d444d;--accent:#6cb6ff;--flag:#3b2e00}}
        *{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,sans-serif;color:var(--ink);background:var(--paper)}
        header,nav,main{max-width:72rem;margin:0 auto;padding:0 1rem}h1{margin:.6rem 0 .2rem;font-size:1.6rem}
        h2{font-size:1.25rem;margin:1.6rem 0 .4rem;border-bottom:1px solid var(--line)}
        a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,.scroll:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--paper);padding:.3rem}
        nav ul{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
        .where{margin:0;color:var(--muted)}#live{margin:.2rem 0;color:var(--muted);font-size:.9rem}.note{color:var(--muted);margin:.2rem 0 .5rem}
        .fields{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:end}label{display:flex;flex-direction:column;font-size:.9rem}
        input,button{font:inherit;padding:.3rem .5rem;border:1px solid var(--line);border-radius:4px;background:var(--paper);color:var(--ink)}
        button{cursor:pointer;background:var(--accent);color:var(--paper);border-color:var(--accent)}
        .scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
        caption{text-align:left;color:var(--muted);font-size:.9rem;padding:.2rem 0}
        th,td{padding:.25rem .5rem;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}.num{text-align:right}
        th a{text-decoration:none}tr.flagged{background:var(--flag)}
        .pager{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.5rem 0}.pager [aria-disabled]{color:var(--muted)}
        .chart{width:100%;height:auto;min-width:540px;max-width:760px;display:block}figure{margin:.6rem 0}figcaption{font-weight:600}
        .chart text{fill:var(--ink);font-size:12px}.chart .axis{fill:var(--muted)}.chart .count.inverse{fill:var(--paper)}
        .chart .cell{fill:var(--accent);stroke:var(--line)}.chart .bar-deposit{fill:var(--accent)}
        .chart .bar-withdrawal{stroke:var(--ink);stroke-width:1}.chart .hatch-ground{fill:var(--paper)}.chart .hatch-line{stroke:var(--ink);stroke-width:2}
        .chart .axis-line{stroke:var(--muted)}.chart .zero-line{stroke:var(--muted);stroke-dasharray:4 3}
        .chart .line{fill:none;stroke:var(--accent);stroke-width:2}.chart .line-point{fill:var(--accent)}
        details{margin:.3rem 0}#desk form{margin:.5rem 0}.balance{font-size:1.2rem}
        #desk-message:empty{display:none}#desk-message{padding:.4rem .6rem;border-left:4px solid var(--accent)}
        #desk-message.refused{border-color:#c62828}
        """

    /// Live views through Server-Sent Events (the browser reconnects on its own), and the desk's forms submitted in
    /// place. Without it every link and form still works by plain navigation.
    static let pageScript = """
        (function(){'use strict';
        const live=document.getElementById('live');
        function stamp(){return new Date().toLocaleTimeString();}
        async function refresh(url,id){
          const response=await fetch(url,{headers:{'Accept':'text/html'},cache:'no-store'});
          if(!response.ok)return;
          const old=document.getElementById(id);if(!old)return;
          const focused=document.activeElement&&document.activeElement.id;
          const template=document.createElement('template');template.innerHTML=(await response.text()).trim();
          const fresh=template.content.firstElementChild;if(fresh&&fresh.id===id)old.replaceWith(fresh);
          if(focused){const again=document.getElementById(focused);if(again)again.focus();}
        }
        // One refresh at a time; a version announced meanwhile makes it run once more when done. After the stream
        // reconnects (a restarted server numbers its versions afresh) the views are refreshed whatever the number.
        let running=false,again=false,reconnected=false;
        async function update(){
          if(running){again=true;return;}
          running=true;
          try{do{again=false;await Promise.all([refresh('/views'+location.search,'views'),deskRefresh()]);}while(again);}
          catch(error){}finally{running=false;}
        }
        function onLedger(event){
          const info=JSON.parse(event.data);
          live.textContent='Live: '+info.entries.toLocaleString()+' entries, updated '+stamp();
          const size=document.getElementById('size');if(size)size.textContent=info.entries.toLocaleString()+' entries, '+info.accounts.toLocaleString()+' accounts';
          const views=document.getElementById('views');
          if(!reconnected&&views&&views.dataset.version===String(info.version))return;
          reconnected=false;
          update();
        }
        function deskRefresh(){
          const panel=document.getElementById('desk-panel');
          if(!panel)return Promise.resolve();
          return refresh('/desk/panel?account='+encodeURIComponent(panel.dataset.account),'desk-panel');
        }
        if(window.EventSource){
          const events=new EventSource('/events');
          events.addEventListener('ledger',onLedger);
          events.onopen=function(){live.textContent='Live: following the ledger since '+stamp();};
          events.onerror=function(){reconnected=true;live.textContent='Live updates interrupted; reconnecting…';};
        }
        document.addEventListener('submit',async function(event){
          const form=event.target;if(!form.dataset||form.dataset.desk!=='transaction')return;
          event.preventDefault();
          const message=document.getElementById('desk-message');
          const body=new URLSearchParams(new FormData(form,event.submitter));
          const buttons=form.querySelectorAll('button');buttons.forEach(function(b){b.disabled=true;});
          message.className='';message.textContent='Sending…';
          try{
            const response=await fetch(form.action,{method:'POST',body:body,headers:{'Accept':'application/json'}});
            const result=await response.json();
            message.textContent=result.message+(result.note?' '+result.note:'');
            message.className=result.outcome==='applied'?'applied':'refused';
            if(result.outcome==='applied'){form.reset();}
            await deskRefresh();
          }catch(error){message.className='refused';message.textContent='The desk could not be reached: '+error;}
          finally{buttons.forEach(function(b){b.disabled=false;});}
        });
        })();
        """
}
